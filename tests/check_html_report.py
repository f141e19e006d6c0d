#!/usr/bin/env python3
"""Renders a goscope HTML report in headless Chromium and checks what a person would see.

usage: check_html_report.py REPORT.html OUTDIR [--expect TEXT]...

For the light and the dark theme (Chromium's --force-dark-mode sets prefers-color-scheme):
  - the page's script ran without an error: no "Uncaught" exception and no console message
    at all in Chromium's log (the page logs only errors; a refused fetch logs too), and the DOM after it ran has body[data-rendered="1"] with timeline
    lanes and flamegraph frames drawn;
  - each --expect text is in the rendered DOM (the findings are visible);
  - the screenshot (OUTDIR/report-<theme>.png) is not blank: many colors, many pixels
    that are not the background, and a background that matches the theme.
And the theme button turns a light page dark and remembers the choice in localStorage.
Prints what it checked; exits 0 when all is well, 1 on a failed check, 2 when it cannot run.
"""
import argparse
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def run_chromium(browser, args, url, profile):
    # A private profile per run, so runs (and the two themes) never share state.
    cmd = [browser, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
           "--no-first-run", "--disable-extensions", "--user-data-dir=" + profile,
           "--enable-logging=stderr", "--v=0", "--virtual-time-budget=3000"] + args + [url]
    return subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=120)


def console_errors(log):
    errors = []
    # The report logs nothing when all is well: any console message is a script error,
    # one of its own (console.error "goscope: ...") or a fetch the page's CSP refused.
    for line in log.splitlines():
        if ":CONSOLE" in line or "Uncaught" in line:
            errors.append(line.strip())
    return errors


def png_pixels(path):
    """(width, height, rows of RGB tuples) of an 8-bit RGB or RGBA PNG."""
    with open(path, "rb") as f:
        blob = f.read()
    if blob[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, header = 8, b"", None
    while pos < len(blob):
        length, kind = struct.unpack(">I4s", blob[pos:pos + 8])
        body = blob[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, color_type, _, _, interlace = header
    if depth != 8 or color_type not in (2, 6) or interlace:
        raise ValueError("unexpected PNG format: depth %d color type %d interlace %d" % (depth, color_type, interlace))
    channels = 3 if color_type == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * channels
    rows, previous = [], bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            corner = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + ((left + up) >> 1)) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                predictor = left if pa <= pb and pa <= pc else (up if pb <= pc else corner)
                line[i] = (line[i] + predictor) & 0xFF
        rows.append([tuple(line[x * channels:x * channels + 3]) for x in range(width)])
        previous = line
    return width, height, rows


def luminance(rgb):
    r, g, b = rgb
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def check_theme(browser, report, outdir, theme, expects):
    failures = []
    url = "file://" + os.path.abspath(report)
    dark = ["--force-dark-mode"] if theme == "dark" else []
    shot = os.path.join(outdir, "report-%s.png" % theme)
    with tempfile.TemporaryDirectory() as profile:
        dom = run_chromium(browser, dark + ["--dump-dom"], url, profile)
    with tempfile.TemporaryDirectory() as profile:
        screenshot = run_chromium(browser, dark + ["--window-size=1280,2400", "--screenshot=" + shot], url, profile)

    for what, result in (("dump-dom", dom), ("screenshot", screenshot)):
        if result.returncode != 0:
            failures.append("chromium %s exited %d: %s" % (what, result.returncode, result.stderr[-2000:]))
        for error in console_errors(result.stderr):
            failures.append("console error (%s): %s" % (what, error))

    body = re.search(r"<body[^>]*>", dom.stdout)
    body_tag = body.group(0) if body else ""
    if 'data-rendered="1"' not in body_tag:
        failures.append("the page's script did not finish: body is %r" % body_tag[:300])
    lanes = re.search(r'data-timeline-lanes="(\d+)"', body_tag)
    frames = re.search(r'data-flame-frames="(\d+)"', body_tag)
    if not lanes or int(lanes.group(1)) == 0:
        failures.append("no timeline lanes drawn")
    if not frames or int(frames.group(1)) == 0:
        failures.append("no flamegraph frames drawn")
    if dom.stdout.count('class="frame') == 0:
        failures.append("no flamegraph frame elements in the DOM")
    for text in expects:
        if text not in dom.stdout:
            failures.append("not in the rendered page: %r" % text)

    if not os.path.exists(shot):
        failures.append("no screenshot written")
        return failures, {}
    width, height, rows = png_pixels(shot)
    background = rows[2][width - 3]  # a margin pixel: the page's background
    colors, painted = set(), 0
    for row in rows[::2]:
        for pixel in row[::2]:
            colors.add(pixel)
            if max(abs(a - b) for a, b in zip(pixel, background)) > 24:
                painted += 1
    sampled = len(rows[::2]) * len(rows[0][::2])
    stats = {"size": "%dx%d" % (width, height), "colors": len(colors),
             "painted": round(painted / sampled, 3), "background": background}
    if len(colors) < 40:
        failures.append("screenshot has only %d colors: blank?" % len(colors))
    if painted / sampled < 0.03:
        failures.append("screenshot is almost all background (%.1f%% painted)" % (100 * painted / sampled))
    light = luminance(background)
    if theme == "dark" and light > 80:
        failures.append("dark theme with a light background %s" % (background,))
    if theme == "light" and light < 200:
        failures.append("light theme with a dark background %s" % (background,))
    return failures, stats


# Appended to a copy of the report: presses the theme button once, after the page drew.
TOGGLE_PROBE = """<script>
window.addEventListener('load', function () {
  var before = getComputedStyle(document.body).backgroundColor;
  document.getElementById('theme-toggle').click();
  var after = getComputedStyle(document.body).backgroundColor;
  var stored = '';
  try { stored = localStorage.getItem('goscope-theme') || ''; } catch (e) { stored = 'unavailable'; }
  document.body.dataset.toggle = [before, after, document.documentElement.dataset.theme, stored].join('|');
});
</script>"""


def check_toggle(browser, report, outdir):
    """The button switches a light page to dark, remembers it, and the charts redraw without an error."""
    with open(report, encoding="utf-8") as f:
        page = f.read()
    probe = os.path.join(outdir, "report-toggle.html")
    with open(probe, "w", encoding="utf-8") as f:
        f.write(page.replace("</body>", TOGGLE_PROBE + "</body>"))
    with tempfile.TemporaryDirectory() as profile:
        result = run_chromium(browser, ["--dump-dom"], "file://" + os.path.abspath(probe), profile)
    failures = ["console error (toggle): " + e for e in console_errors(result.stderr)]
    found = re.search(r'data-toggle="([^"]*)"', result.stdout)
    if not found:
        return failures + ["the theme button was not pressed (no data-toggle)"]
    before, after, theme, stored = found.group(1).split("|")
    if before != "rgb(255, 255, 255)" or after != "rgb(13, 17, 23)":
        failures.append("the button did not switch light to dark: %s -> %s" % (before, after))
    if theme != "dark" or stored != "dark":
        failures.append("the choice is not remembered: data-theme %r, localStorage %r" % (theme, stored))
    print("theme button: %s -> %s, remembered %r" % (before, after, stored))
    return failures


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("report")
    parser.add_argument("outdir")
    parser.add_argument("--expect", action="append", default=[])
    args = parser.parse_args()
    browser = chromium()
    if not browser:
        print("chromium not found (scripts/setup.sh installs it)")
        return 2
    os.makedirs(args.outdir, exist_ok=True)
    failed = False
    for theme in ("light", "dark"):
        failures, stats = check_theme(browser, args.report, args.outdir, theme, args.expect)
        print("%s theme: %s" % (theme, stats))
        for f in failures:
            print("  FAIL: " + f)
        failed = failed or bool(failures)
    failures = check_toggle(browser, args.report, args.outdir)
    for f in failures:
        print("  FAIL: " + f)
    failed = failed or bool(failures)
    print("FAILED" if failed else "OK")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
