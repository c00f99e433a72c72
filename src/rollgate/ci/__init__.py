"""What the GitHub workflows ask of rollgate: what kind a pull request is, and the one required check's
verdict over the jobs that ran. Each is one `rollgate pr ...` command a workflow step calls."""
