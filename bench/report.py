"""The members bench's report: targets judged, the JSON, a markdown summary and the chart."""

from __future__ import annotations

import json
from pathlib import Path

STEADY_P50_MS = 15.0
STEADY_P99_MS = 100.0
STEADY_RSS_MB = 150.0
STEADY_CONNECTIONS = 50
LIMITS_P99_MS = 1500.0
LIMITS_MESSAGES_PER_UPDATE = 1.1
ANNOUNCE_PER_S = 28.5
ANNOUNCE_429_SHARE = 0.001
GROWTH_RATIO = 1.2
COLD_START_S = 2.0


def _t(name: str, value, target: str, met: bool | None) -> dict:
    return {"target": name, "measured": value, "wanted": target,
            "met": None if met is None else bool(met)}


def targets(report: dict) -> list[dict]:
    """Every target of issue 20 this run measured: measured value, wanted, met."""
    r = report["results"]
    out: list[dict] = []
    s = r.get("steady")
    if s:
        lat = s["latency_ms"]
        rss = max(v for v in (s["bot_rss_peak_mb"], s["bot_rss_hwm_mb"]) if v is not None)
        out += [
            _t("steady p50 ms", lat["p50"], f"<= {STEADY_P50_MS:g}",
               lat["p50"] is not None and lat["p50"] <= STEADY_P50_MS),
            _t("steady p99 ms", lat["p99"], f"<= {STEADY_P99_MS:g}",
               lat["p99"] is not None and lat["p99"] <= STEADY_P99_MS),
            _t("steady errors (incl. unexpected screens)", s["errors"], "0", s["errors"] == 0),
            _t("steady lost updates", s["lost"], "0", s["lost"] == 0),
            _t("steady bot peak RSS MB", rss, f"<= {STEADY_RSS_MB:g}", rss <= STEADY_RSS_MB),
            _t("steady peak DB connections", s["peak_connections"],
               f"<= {STEADY_CONNECTIONS}", s["peak_connections"] <= STEADY_CONNECTIONS),
            _t("steady updates/s sent (answered/s over the run incl. its drain: "
               f"{s['updates_per_s']})", s["sent_per_s"],
               f"~{s['target_rate_per_s']:g} (the offered rate)",
               s["sent_per_s"] >= 0.95 * s["target_rate_per_s"]),
        ]
    lim = r.get("limits")
    if lim:
        p99 = lim["latency_ms"]["p99"]
        out += [
            _t("limits p99 ms", p99, f"<= {LIMITS_P99_MS:g}",
               p99 is not None and p99 <= LIMITS_P99_MS),
            _t("limits 429s (over Telegram's limit)", lim["http_429"], "0",
               lim["http_429"] == 0),
            _t("limits messages per member action", lim["messages_per_update"],
               f"<= {LIMITS_MESSAGES_PER_UPDATE}",
               lim["messages_per_update"] <= LIMITS_MESSAGES_PER_UPDATE),
            _t("limits errors + lost", lim["errors"] + lim["lost"], "0",
               lim["errors"] + lim["lost"] == 0),
        ]
    sat = r.get("saturation")
    if sat:
        out.append(_t("saturation: last rate with p99 <= 250 ms", sat["last_rate_under_250ms"],
                      "(reported)", None))
    ann = r.get("announcement")
    if ann and ann.get("announcement"):
        a = ann["announcement"]
        per_s = a.get("all_messages_per_s")
        share = (a.get("http_429_in_window", 0) / a["all_messages_in_window"]
                 if a.get("all_messages_in_window") else None)
        out += [
            _t("announcement: messages/s at tgemu (announcement + replies)", per_s,
               f">= {ANNOUNCE_PER_S}", per_s is not None and per_s >= ANNOUNCE_PER_S),
            _t("announcement: its own messages/s", a.get("announcement_per_s"), "(reported)",
               None),
            _t("announcement: 429s share of sends",
               None if share is None else round(share, 5), f"<= {ANNOUNCE_429_SHARE}",
               share is not None and share <= ANNOUNCE_429_SHARE),
            _t("announcement: members who got it twice", a.get("received_twice"), "0",
               a.get("received_twice") == 0),
        ]
        if s and s["latency_ms"]["p99"]:
            p99 = ann["latency_ms"]["p99"]
            ref = s["latency_ms"]["p99"]
            out.append(_t("announcement: members' p99 ms during it", p99,
                          f"<= 2 x steady p99 ({2 * ref:g})", p99 is not None
                          and p99 <= 2 * ref))
        else:
            out.append(_t("announcement: members' p99 ms during it", ann["latency_ms"]["p99"],
                          "<= 2 x steady p99 (steady not run)", None))
    g = r.get("growth")
    if g and len(g) >= 2:
        sizes = sorted(g, key=int)
        small, big = g[sizes[0]]["latency_ms"]["p99"], g[sizes[-1]]["latency_ms"]["p99"]
        ratio = round(big / small, 2) if small and big else None
        out.append(_t(f"growth: p99 at {sizes[-1]} / p99 at {sizes[0]} members", ratio,
                      f"<= {GROWTH_RATIO}", ratio is not None and ratio <= GROWTH_RATIO))
    cold = r.get("cold_start")
    if cold:
        out.append(_t("cold start s (process start -> first reply)", cold["seconds"],
                      f"< {COLD_START_S:g}", cold["seconds"] < COLD_START_S))
    return out


def phases(report: dict) -> list[dict]:
    """Every measured phase, in run order."""
    r = report["results"]
    out = [r[k] for k in ("steady",) if k in r]
    out += r.get("saturation", {}).get("steps", [])
    out += [r[k] for k in ("limits", "announcement") if k in r]
    out += list(r.get("growth", {}).values())
    return out


def _v(x) -> str:
    return "-" if x is None else (f"{x:g}" if isinstance(x, float) else str(x))


def markdown(report: dict) -> str:
    lines = [f"# Members bench{' (short)' if report.get('short') else ''}", "",
             f"Run of {report['at']} ({report['seconds_total']} s), {report['machine']['cpus']}"
             f" CPUs, Python {report['machine']['python']}; modes: {', '.join(report['modes'])}."
             f" Load average before the run: {report['machine']['loadavg_1m_before']}.", "",
             "## Targets", "", "| target | measured | wanted | |", "|---|---:|---|---|"]
    for t in targets(report):
        verdict = {True: "met", False: "**NOT met**", None: ""}[t["met"]]
        lines.append(f"| {t['target']} | {_v(t['measured'])} | {t['wanted']} | {verdict} |")
    lines += ["", "## Phases", "",
              "Latency: from sending the update to the screen (message or edit) at tgemu; "
              "tgemu p99: to the bot's first answering call.", "",
              "| phase | load avg | members | active | upd/s | p50 | p95 | p99 | max | tgemu p99 |"
              " errors | lost | msg/upd | 429s | stmts/upd | peak conns | RSS MB | bot CPU ms/upd |"
              " PG CPU ms/upd | bench cores |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
              "---:|---:|---:|---:|"]
    for p in phases(report):
        lat = p["latency_ms"]
        lines.append(
            f"| {p['phase']} | {p['loadavg_1m_before']} | {p['members']} | {p['active_members']}"
            f" | {p['updates_per_s']} | {_v(lat['p50'])} | {_v(lat['p95'])} | {_v(lat['p99'])}"
            f" | {_v(lat['max'])} | {_v(p['tgemu_latency_ms']['p99'])} | {p['errors']}"
            f" | {p['lost']} | {p['messages_per_update']} | {p['http_429']}"
            f" | {p['statements_per_update']} | {p['peak_connections']}"
            f" | {_v(p['bot_rss_peak_mb'])} | {p['bot_cpu_ms_per_update']}"
            f" | {p['postgres_cpu_ms_per_update']} | {p['bench_process_cores_used']} |")
    samples = [(p["phase"], s) for p in phases(report) for s in p.get("error_samples", [])]
    if samples:
        lines += ["", "## Error samples", ""]
        lines += [f"- {name}: `{s}`" for name, s in samples[:15]]
    for mode, failure in report["results"].get("failures", {}).items():
        lines += ["", f"## {mode}: FAILED", "", "```", failure["error"], "```"]
    logs = report["results"].get("bot_log_errors", {})
    if logs:
        lines += ["", "## Bot logs (ERROR lines)", ""]
        for run, info in logs.items():
            lines.append(f"- {run}: {info['error_lines']}"
                         + "".join(f"\n  - `{x}`" for x in info["samples"]))
    ann = report["results"].get("announcement", {}).get("announcement")
    if ann:
        lines += ["", "## Announcement", "", "```",
                  json.dumps({k: v for k, v in ann.items() if k not in ("text",
                                                                         "sent_progress")}),
                  "```"]
    lines += ["", "Bench cores: CPU of the bench process (tgemu + the load driver, one GIL); "
              "near 1.0 means they, not the bot, set the pace.", ""]
    return "\n".join(lines)


def chart(report: dict, path: Path) -> Path | None:
    """Throughput and latency over time, the phases one after the other."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ps = [p for p in phases(report) if p.get("timeline")]
    if not ps:
        return None
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(12, 6.5), sharex=True)
    offset = 0
    for p in ps:
        tl = p["timeline"]
        xs = [offset + s["t"] for s in tl]
        ax1.plot(xs, [s["updates"] for s in tl], lw=1)
        ax2.plot(xs, [s["p50_ms"] for s in tl], lw=1, color="tab:blue")
        ax2.plot(xs, [s["p99_ms"] for s in tl], lw=1, color="tab:red")
        ax1.axvline(offset, color="grey", lw=0.5)
        ax2.axvline(offset, color="grey", lw=0.5)
        ax1.text(offset + 1, 0.98, p["phase"], rotation=90, fontsize=7, va="top",
                 transform=ax1.get_xaxis_transform())
        offset = xs[-1] + 5 if xs else offset + 5
    ax1.set_ylabel("updates answered / s")
    ax2.set_ylabel("screen latency ms (p50 blue, p99 red)")
    ax2.set_yscale("log")
    ax2.set_xlabel("seconds (phases one after the other)")
    fig.suptitle(f"Members bench {report['at']}" + (" (short)" if report.get("short") else ""))
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def write(report: dict, directory: Path, stem: str) -> list[Path]:
    """members.json, members.md and members.png (or the stem given) in directory."""
    directory.mkdir(parents=True, exist_ok=True)
    report["targets"] = targets(report)
    paths = [directory / f"{stem}.json", directory / f"{stem}.md"]
    paths[0].write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    paths[1].write_text(markdown(report), encoding="utf-8")
    png = chart(report, directory / f"{stem}.png")
    if png:
        paths.append(png)
    return paths
