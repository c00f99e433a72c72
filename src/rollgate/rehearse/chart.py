"""The timeline drawn: one PNG per analysed metric — canary against stable over time (each side's own
quantity, where the metric is one of the contract's criteria), and below it the analysed value against
its threshold, each measurement coloured by its phase, the step boundaries marked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rollgate.rehearse.timeline import number

COLOURS = {"Successful": "tab:green", "Failed": "tab:red", "Inconclusive": "tab:orange", "Error": "tab:purple"}


def draw(t: dict[str, Any], folder: Path) -> list[Path]:
    """Write `<metric>.png` into `folder` for every metric the timeline measured; returns the files."""
    import matplotlib

    matplotlib.use("Agg")  # files only, never a display
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    names = list(dict.fromkeys(m["metric"] for m in t["measurements"]))
    out = []
    for name in names:
        rows = [m for m in t["measurements"] if m["metric"] == name]
        fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 5.5), sharex=True, height_ratios=(1, 1))
        for side, colour in (("canary", "tab:blue"), ("stable", "tab:gray")):
            points = [(m["at"], number(m["sides"].get(side))) for m in rows if m["sides"]]
            xs, ys = [x for x, y in points if y is not None], [y for _, y in points if y is not None]
            if xs:
                top.plot(xs, ys, marker="o", color=colour, label=side)
        top.set_ylabel("each side")
        if top.lines:
            top.legend(loc="upper left", fontsize="small")
        else:
            top.text(0.5, 0.5, "no per-side query for this metric", ha="center", transform=top.transAxes)
        for m in rows:
            value = number(m["value"])
            if value is not None:
                bottom.scatter([m["at"]], [value], color=COLOURS.get(m["phase"], "black"), zorder=3)
            else:
                bottom.scatter([m["at"]], [0], marker="x", color=COLOURS.get(m["phase"], "black"), zorder=3)
        bottom.plot([m["at"] for m in rows], [number(m["value"]) for m in rows], color="tab:blue", alpha=0.4)
        limit = number(t["thresholds"].get(name))
        if limit is not None:
            bottom.axhline(limit, color="tab:red", linestyle="--", label=f"threshold {limit:g}")
            bottom.legend(loc="upper left", fontsize="small")
        bottom.set_ylabel("analysed value")
        bottom.set_xlabel("seconds since the rehearsal started (x: no data)")
        _steps(t["steps"], (top, bottom))
        fig.suptitle(f"{name} — canary against stable ({t['env']}; verdict {t['verdict']})")
        fig.tight_layout()
        path = folder / f"{name}.png"
        fig.savefig(path, dpi=80)
        plt.close(fig)
        out.append(path)
    return out


def _steps(steps: list[dict[str, Any]], axes: tuple[Any, Any]) -> None:
    """A line and a label where the traffic changes stage; each analysis step's span shaded."""
    stage = None
    for step in steps:
        if step["stage"] != stage:
            stage = step["stage"]
            for axis in axes:
                axis.axvline(step["started"], color="black", alpha=0.25)
            axes[0].annotate(stage, (step["started"], 1.02), xycoords=("data", "axes fraction"), fontsize="small")
        if step["phase"] and step["ended"] is not None:
            for axis in axes:
                axis.axvspan(step["started"], step["ended"], color=COLOURS.get(step["phase"], "gray"), alpha=0.06)
