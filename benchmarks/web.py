"""The dashboard's pages on the demo workspace over loopback: first render and bytes transferred.

    .venv/bin/python benchmarks/web.py [--workspace demo-output] [--role analyst] [--repeat 3]

For each dashboard page that exists, ``--repeat`` times: starts ``corridor serve`` on the demo
workspace (built with ``corridor demo`` when --workspace is not given) as a new process on
127.0.0.1, waits for its first answer, logs in in headless Chromium (Debian's, through
Playwright) as the demo account of ``--role`` (not timed), opens the page in a new browser
context (empty cache), then once more in another new context on the same server. Printed per
page (median of the repeats, and the slowest):

* first render (cold): from navigation start to the page's load event (every script and style
  sheet loaded and run), or to the end of the last request the page made by then or while it
  drew (the map's layers), whichever is later: the time until the page shows its numbers, on a
  server that has computed nothing for anybody since it started;
* server: navigation start to the first byte of the page's document (the server's own work);
* load: navigation start to the load event;
* cpu: the server process's CPU seconds (all threads, DuckDB's included) during the cold render;
* warm: the same page in a new browser (nothing in its cache) on the same server: the answer
  cache now holds the user's ranking and summary, as for the second user of the day;
* ready: from starting the server process to its first answer (imports, migrations check,
  templates); nothing about any user is computed before it answers;
* bytes: every byte the browser received for the page (documents, scripts, styles, data);
* the baseline measured in the same run: the same domain work as the overview and the map done
  in-process with no HTTP and no browser (the raw tool: ranking, report summary pieces; the
  median of three), and the ratio first render / baseline.

Goals (issue 14): each page's first render under 1 s and under 2 MB transferred.
"""

from __future__ import annotations

import argparse
import csv
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from demohub import demo_workspace, free_port

#: every page of the dashboard, in navigation order (pages not built yet answer 404: skipped)
PAGES = ("/overview", "/map", "/explorer", "/spaces", "/data", "/admin")
GOAL_SECONDS = 1.0
GOAL_BYTES = 2_000_000


def credentials(ws: Path, role: str) -> tuple[str, str]:
    with (ws / "demo-users.csv").open(encoding="utf-8") as f:
        for r in csv.DictReader(f):
            if r["role"] == role:
                return r["username"], r["password"]
    raise SystemExit(f"no demo account with role {role} in {ws}/demo-users.csv")


TICK = os.sysconf("SC_CLK_TCK")


class Server:
    """``corridor serve`` on the workspace, a process of its own on a free loopback port."""

    def __init__(self, ws: Path, prepare: bool) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        started = time.perf_counter()
        command = [sys.executable, "-m", "corridor.cli.main", "serve", "-w", str(ws)]
        if not prepare:
            command += ["--prepare-seconds", "0"]
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 (closed by stop)
        self.proc = subprocess.Popen(
            [*command, "--port", str(self.port)], stdout=subprocess.DEVNULL, stderr=self.log
        )
        while True:  # until the first answer
            try:
                with urllib.request.urlopen(self.base + "/login", timeout=5) as r:
                    r.read()
                break
            except (urllib.error.URLError, ConnectionError):
                if self.proc.poll() is not None:
                    self.log.seek(0)
                    raise SystemExit(
                        f"corridor serve stopped: {self.log.read().decode()}"
                    ) from None
                time.sleep(0.02)
        self.ready = time.perf_counter() - started

    def cpu(self) -> float:
        """CPU seconds the server process has used (user + system, all threads)."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)  # a clean shutdown: the file's marker goes
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def baseline(ws: Path, user: str) -> float:
    """Seconds for the domain work of the overview and the map in-process, no HTTP, no browser:
    the user's window, the ranking (200 draws), cascade, completeness and outbreaks."""
    from corridor.access import get_user
    from corridor.access.scope import scoped
    from corridor.hotspots import rank_sites
    from corridor.reports.cascade import cascade
    from corridor.reports.html import country_names, report_window
    from corridor.reports.outbreak import outbreaks
    from corridor.reports.quality import completeness
    from corridor.workspace import open_workspace

    w = open_workspace(ws)
    try:
        account = get_user(w.engine, user)
        threshold = w.settings.suppression_threshold
        times = []
        for _ in range(3):  # the median of three (the first also pays for imports)
            t0 = time.perf_counter()
            with scoped(w.engine, account.scope) as eng:
                window = report_window(eng, None)
                names = country_names(eng)
                cascade(eng, window.text, threshold, names)
                completeness(eng, window.start, window.end, names, threshold)
                outbreaks(eng, window.start, window.end, threshold, names)
                rank_sites(eng, period=window.text, draws=200, seed=1).disclosed(threshold)
            times.append(time.perf_counter() - t0)
        return sorted(times)[1]
    finally:
        w.close()


def open_page(browser: Any, server: Server, user: str, password: str, path: str) -> dict[str, Any]:
    """Log in (not timed), then open ``path`` in a fresh context: seconds and bytes."""
    base = server.base
    ctx = browser.new_context(viewport={"width": 1366, "height": 900})
    page = ctx.new_page()
    page.goto(f"{base}/login?next=/static/app.css")  # land on a file: nothing computed yet
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/login" not in url)
    page.close()
    page = ctx.new_page()
    responses: list[Any] = []
    finished: list[float] = []

    def done(r: Any) -> None:
        responses.append(r)
        finished.append(time.perf_counter())

    page.on("requestfinished", done)
    cpu0 = server.cpu()
    t0 = time.perf_counter()
    response = page.goto(base + path, wait_until="load")
    page.wait_for_load_state("networkidle")  # the page's own data requests (the map's layers)
    cpu = server.cpu() - cpu0
    nav = page.evaluate(
        "(() => { const n = performance.getEntriesByType('navigation')[0];"
        " return [n.responseStart, n.loadEventEnd]; })()"
    )
    # rendered: the load event or the last request the page made, whichever came later (not
    # the 500 ms of quiet that "networkidle" waits for); the load event from the browser's own
    # clock (navigation start = 0), the requests from ours (t0 = just before navigating)
    seconds = max([nav[1] / 1000, *(f - t0 for f in finished)])
    status = response.status if response is not None else 0
    received = 0
    for request in responses:
        sizes = request.sizes()
        received += sizes["responseBodySize"] + sizes["responseHeadersSize"]
    ctx.close()
    return {
        "status": status,
        "seconds": seconds,
        "cpu": cpu,
        "server": nav[0] / 1000,
        "load": nav[1] / 1000,
        "bytes": received,
        "requests": len(responses),
    }


def median(runs: list[dict[str, Any]], key: str) -> float:
    return float(statistics.median(r[key] for r in runs))


MODES = {
    False: "computed on request: corridor serve --prepare-seconds 0 (nothing prepared at start)",
    True: "prepared at start: corridor serve as by default (each account scope's overview, map"
    " and ranking computed before its first answer)",
}


def measure(
    browser: Any, ws: Path, user: str, password: str, path: str, repeat: int, prepare: bool
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[float]]:
    """``repeat`` cold renders of ``path``, each on a new server process, and a warm one each."""
    colds: list[dict[str, Any]] = []
    warms: list[dict[str, Any]] = []
    readies: list[float] = []
    for _ in range(repeat):
        server = Server(ws, prepare)
        try:
            readies.append(server.ready)
            colds.append(open_page(browser, server, user, password, path))
            if colds[-1]["status"] == 404:
                break
            warms.append(open_page(browser, server, user, password, path))
        finally:
            server.stop()
    return colds, warms, readies


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--workspace", help="a demo workspace (default: build one)")
    ap.add_argument("--role", default="analyst", help="the demo account to log in as")
    ap.add_argument("--repeat", type=int, default=3, help="cold servers per page (median)")
    ap.add_argument("--pages", default=",".join(PAGES), help="comma-separated paths")
    ap.add_argument(
        "--modes", default="request,start", help="request (nothing prepared), start, or both"
    )
    args = ap.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from playwright.sync_api import sync_playwright

    from browser import chromium_path

    modes = [m == "start" for m in args.modes.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        ws = demo_workspace(args.workspace, Path(tmp))
        user, password = credentials(ws, args.role)
        base_s = baseline(ws, user)
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; {ws}; as {user}")
        print(f"baseline (the same domain work in-process, no HTTP): {base_s:.3f} s")
        failed = False
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=chromium_path(), args=["--no-sandbox", "--disable-gpu"]
            )
            try:
                for prepare in modes:
                    print(f"\n{MODES[prepare]}")
                    print(
                        f"first render, median of {args.repeat} new server processes per page"
                        " (slowest in brackets)"
                    )
                    print(
                        f"{'page':<11}{'first render s':>20}{'server':>8}{'load':>7}{'cpu s':>7}"
                        f"{'warm s':>8}{'ready s':>9}{'MB':>6}{'requests':>9}{'/base':>7}  goal"
                    )
                    for path in args.pages.split(","):
                        colds, warms, readies = measure(
                            browser, ws, user, password, path, args.repeat, prepare
                        )
                        if colds[-1]["status"] == 404:
                            print(f"{path:<11}  (not built yet)")
                            continue
                        cold = median(colds, "seconds")
                        worst = max(r["seconds"] for r in colds)
                        size = max(r["bytes"] for r in colds)
                        ok = cold < GOAL_SECONDS and size < GOAL_BYTES
                        failed |= not ok
                        status = colds[-1]["status"]
                        print(
                            f"{path:<11}{f'{cold:.3f} ({worst:.3f})':>20}"
                            f"{median(colds, 'server'):>8.3f}"
                            f"{median(colds, 'load'):>7.3f}{median(colds, 'cpu'):>7.2f}"
                            f"{median(warms, 'seconds'):>8.3f}{statistics.median(readies):>9.2f}"
                            f"{size / 1e6:>6.2f}{colds[-1]['requests']:>9}{cold / base_s:>7.2f}"
                            f"  {'met' if ok else 'MISSED'}"
                            + ("" if status == 200 else f" (HTTP {status})")
                        )
            finally:
                browser.close()
        print(
            f"goals: first render < {GOAL_SECONDS:.0f} s and < {GOAL_BYTES / 1e6:.0f} MB per page:"
            f" {'missed on some page' if failed else 'met on every page'} (wall times on this"
            f" machine at load average {os.getloadavg()[0]:.1f}; cpu s is the server process's"
            " CPU time, which load inflates much less)"
        )


if __name__ == "__main__":
    main()
