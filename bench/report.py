"""Write the results of a run as JSON and markdown, and plot p50 against the number of cases."""

import json
from pathlib import Path
from typing import Any


def _cell(value: Any, suffix: str = "") -> str:
    return "" if value is None else f"{value}{suffix}"


def markdown(result: dict[str, Any]) -> str:
    """Return the results of one run as a markdown document."""
    seed = result.get("seed") or {}
    lines = [
        f"# Benchmark at {result['cases']:,} cases",
        "",
        f"Run {result['started']}; {result['settings']['server']}; "
        f"{result['settings']['concurrency']} concurrent clients, "
        f"{result['settings']['seconds_per_endpoint']} s per endpoint"
        f" in {result['settings'].get('rounds', 1)} interleaved rounds, the reads'"
        " before the writes', each beside a floor measured with it; "
        f"load average {result['settings']['load_average_at_start']:.1f} on "
        f"{result['settings']['cpus']} CPUs at the start.",
        "",
    ]
    if seed:
        lines += [
            f"Seeded {seed.get('cases', 0):,} cases, {seed.get('comments', 0):,} comments and "
            f"{seed.get('events', 0):,} events in {seed.get('seconds')} s.",
            "",
        ]
    lines += [
        "| endpoint | user | req/s | p50 ms | p99 ms | p99/p50 | queries | vs floor | target "
        "| ok | failed |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|",
    ]  # fmt: skip
    for row in result["results"]:
        if "rps" not in row:
            lines.append(
                f"| {row['endpoint']} | {row['role']} | {row.get('note', '')} | | | | | | | | |"
            )
            continue
        spread = round(row["p99_ms"] / row["p50_ms"], 1) if row["p50_ms"] else None
        queries = (
            f"{row['queries_min']}"
            if row["queries_min"] == row["queries_max"]
            else f"{row['queries_min']}-{row['queries_max']}"
        )
        ok = {True: "yes", False: "NO"}.get(row.get("meets_target"), "")
        target = f"{row['target']:.0%}" if row.get("target") else ""
        ratio = f"{row['ratio']:.0%}" if row.get("ratio") is not None else ""
        lines.append(
            f"| {row['endpoint']} | {row['role']} | {row['rps']} | {row['p50_ms']} | "
            f"{row['p99_ms']} | {_cell(spread)} | {queries} | {ratio} | {target} | {ok} | "
            f"{row['failed']} |"
        )
    memory = result.get("memory") or {}
    if memory.get("workers"):
        low, high = memory["requests_per_worker"]
        lines += ["", f"Worker memory (VmRSS) after {low:,} and {high:,} requests:", ""]
        for worker in memory["workers"]:
            growth = worker.get("growth")
            lines.append(
                f"- worker {worker['pid']}: {_cell(worker.get(f'rss_kib_after_{low}'), ' KiB')} "
                f"-> {_cell(worker.get(f'rss_kib_after_{high}'), ' KiB')}"
                + (f" ({growth:+.1%})" if growth is not None else "")
            )
    failures = [row for row in result["results"] if row.get("failures") or row.get("probe")]
    if failures:
        lines += ["", "Failures:", ""]
        for row in failures:
            for text in row.get("failures", []) or [row["probe"]]:
                lines.append(f"- {row['endpoint']} ({row['role']}): `{text[:200]}`")
    return "\n".join(lines) + "\n"


def plot(directory: Path) -> Path | None:
    """Plot p50 against the number of cases for every endpoint of the runs in `directory`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series: dict[str, list[tuple[int, float]]] = {}
    for path in sorted(directory.glob("*.json")):
        result = json.loads(path.read_text())
        for row in result.get("results", []):
            if "p50_ms" in row:
                key = f"{row['endpoint']} ({row['role']})"
                series.setdefault(key, []).append((result["cases"], row["p50_ms"]))
    if not series:
        return None
    figure, axes = plt.subplots(figsize=(10, 6))
    for key, points in sorted(series.items()):
        points.sort()
        axes.plot(
            [p[0] for p in points],
            [p[1] for p in points],
            marker="o",
            linestyle="--" if key.startswith("floor") else "-",
            label=key,
        )
    axes.set_xscale("log")
    axes.set_xlabel("cases in the database")
    axes.set_ylabel("p50 latency (ms)")
    axes.set_title("Casebook: median latency against the number of cases")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize="small", ncol=2)
    figure.tight_layout()
    out = directory / "p50.png"
    figure.savefig(out, dpi=100)
    plt.close(figure)
    return out


def write(result: dict[str, Any], directory: Path) -> list[Path]:
    """Write `<cases>.json` and `<cases>.md` into `directory` and redraw the plot."""
    directory.mkdir(parents=True, exist_ok=True)
    stem = directory / str(result["cases"])
    json_path, md_path = stem.with_suffix(".json"), stem.with_suffix(".md")
    json_path.write_text(json.dumps(result, indent=2) + "\n")
    md_path.write_text(markdown(result))
    written = [json_path, md_path]
    png = plot(directory)
    if png is not None:
        written.append(png)
    return written
