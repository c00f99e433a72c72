"""Batch scoring: Parquet files streamed in chunks through the model server's feature contract
(`rollgate batch score`). `check` judges a chunk's rows against the contract, column by column;
`batch` reads, scores and writes each input file, resumably."""
