"""The live figures' lines in the benchmark's table (the default engine's `voicecoach run`)."""

from __future__ import annotations

from .budgets import fmt


def live_lines(live: dict | None) -> list[str]:
    """Response and barge-in latency, CPU, memory and start-up, as measured by :mod:`.live`."""
    if not live:
        return []
    if live.get("error"):
        return ["", f"Live measurements failed: {live['error']}"]
    lines = [""]
    add = lines.append
    r, b = live["response"], live["barge_in"]
    br = r.get("breakdown_median_s", {})
    add(f"Response latency (mic last sample -> first audible reply sample): median {fmt(r['median_s'], 'ms')}, "
        f"p95 {fmt(r['p95_s'], 'ms')}, max {fmt(r['max_s'], 'ms')}, over {r['n']} turns")
    add(f"  medians of its parts: end of speech -> recognized {fmt(br.get('recognized_s'), 'ms')}, "
        f"recognized -> reply started {fmt(br.get('coach_s'), 'ms')}, reply started -> audible {fmt(br.get('output_s'), 'ms')}")
    add(f"Barge-in latency (end of 'pause'/'stop' over the coach -> output silent): median {fmt(b['median_s'], 'ms')}, "
        f"p95 {fmt(b['p95_s'], 'ms')}, over {b['n']} (attempts {b['attempts']}, not heard {b['missed']}; "
        f"end of speech -> barge_in event median {fmt(b.get('event_median_s'), 'ms')})")
    i, s = live.get("idle", {}), live.get("session", {})
    add(f"CPU / memory of `voicecoach run`: idle {i.get('seconds', 0):.0f} s: {fmt(i.get('cpu_percent'), 'cpu')} of one core, "
        f"RSS {fmt(i.get('rss_mb'), 'MB')}; session {s.get('seconds', 0):.0f} s: {fmt(s.get('cpu_percent'), 'cpu')}, "
        f"peak RSS {fmt(live.get('peak_rss_mb'), 'MB')}")
    st = live.get("startup", {})
    add(f"Start-up to the first audible greeting sample: cold {fmt(st.get('cold_s'), 's')}, warm median "
        f"{fmt(st.get('warm_median_s'), 's')} ({', '.join(fmt(x, 's') for x in st.get('warm_s', []))})")
    if live.get("notes"):
        add("Notes: " + "; ".join(live["notes"][:10]))
    return lines
