#!/usr/bin/env python3
"""Live half of the flood benchmark (`scripts/bench --floods-live`).

For each flood of examples/gen-floods.rs, with the demo capture's frames
spread evenly through it (DIR/with-demo/KIND.pcap), replays the capture at
the veth pair's top speed (tcpreplay --topspeed) into a `dnsentry live`
running in a network namespace of its own, and reports what the kernel
dropped and how many of the demo's detections the sensor still raised.
The demo's detections are what `dnsentry analyze` finds in the demo capture
alone: (kind, owner, value) of each alert.

Needs root (network namespaces), tcpreplay and a release build. Nothing
leaves the two namespaces it creates, which are removed at the end.

    scripts/bench-floods-live.py DIR [--runs N]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

BINARY = "target/release/dnsentry"
DEMO = "pcaps/demo-hijack.pcap"
ZONES = "pcaps/demo-hijack.zones.toml"
NS_A, NS_B = "dnsentry-bench-a", "dnsentry-bench-b"
VETH_A, VETH_B = "debencha", "debenchb"
KINDS = ["benign", "large-benign", "fragments", "syn", "out-of-order", "compression-bomb"]


def ip(*args, check=True):
    return subprocess.run(["ip", *args], check=check, capture_output=True, text=True)


def netns_up():
    netns_down()
    ip("netns", "add", NS_A)
    ip("netns", "add", NS_B)
    ip("link", "add", VETH_A, "netns", NS_A, "type", "veth", "peer", "name", VETH_B, "netns", NS_B)
    for ns, dev in [(NS_A, VETH_A), (NS_B, VETH_B)]:
        ip("-n", ns, "link", "set", "lo", "up")
        ip("-n", ns, "link", "set", dev, "up")
    ip("-n", NS_A, "addr", "add", "198.18.201.1/30", "dev", VETH_A)
    ip("-n", NS_B, "addr", "add", "198.18.201.2/30", "dev", VETH_B)


def netns_down():
    ip("netns", "del", NS_A, check=False)
    ip("netns", "del", NS_B, check=False)


def detections(lines):
    return {
        (l["kind"], l.get("owner"), l.get("value"))
        for l in lines
        if "owner" in l and l.get("kind") not in ("sensor_health", "capture_loss", "capture_stalled")
    }


def read_lines(path):
    out = []
    try:
        with open(path) as f:
            for line in f:
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError:
                    pass  # a line being written
    except FileNotFoundError:
        pass
    return out


def expected_detections():
    out = subprocess.run(
        [BINARY, "analyze", DEMO, "--expect", ZONES, "-q"],
        capture_output=True, text=True,
    )
    return detections(json.loads(l) for l in out.stdout.splitlines() if l.strip())


def one_run(pcap, work):
    alerts = os.path.join(work, "alerts.json")
    if os.path.exists(alerts):
        os.remove(alerts)
    err = open(os.path.join(work, "stderr.txt"), "w")
    sensor = subprocess.Popen(
        ["ip", "netns", "exec", NS_B, BINARY, "live", "-i", VETH_B, "--expect", ZONES,
         "--alerts", alerts, "--stats-interval", "1", "-q"],
        stdout=subprocess.DEVNULL, stderr=err,
    )
    try:
        deadline = time.time() + 20
        while not any(l.get("kind") == "sensor_health" for l in read_lines(alerts)):
            if time.time() > deadline or sensor.poll() is not None:
                raise SystemExit("the sensor did not start: see " + err.name)
            time.sleep(0.1)
        replay = subprocess.run(
            ["ip", "netns", "exec", NS_A, "tcpreplay", "-q", "--topspeed", "-i", VETH_A, pcap],
            capture_output=True, text=True, check=True,
        )
        text = replay.stdout + replay.stderr
        sent = int(text.split("Actual: ")[1].split()[0])
        pps = float(text.split("Rated: ")[1].split("pps")[0].split(",")[-1].strip().split()[0])
        # Let the sensor read what the kernel queued: wait until two health
        # events a second apart show the same packet count.
        last, steady = None, 0
        deadline = time.time() + 60
        while steady < 2 and time.time() < deadline:
            health = [l for l in read_lines(alerts) if l.get("kind") == "sensor_health"]
            now = health[-1]["interfaces"][0]["received"] if health else None
            steady = steady + 1 if now == last else 0
            last = now
            time.sleep(1.1)
    finally:
        sensor.terminate()
        sensor.wait(timeout=60)
        err.close()
    lines = read_lines(alerts)
    final = [l for l in lines if l.get("kind") == "sensor_health"][-1]
    iface = final["interfaces"][0]
    return {
        "sent": sent,
        "pps": pps,
        "received": iface["received"],
        "dropped": iface["kernel_dropped"] + iface.get("interface_dropped", 0),
        "found": detections(lines),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--runs", type=int, default=1)
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("the live flood bench needs root (network namespaces)")
    want = expected_detections()
    print(f"{'flood':<17} {'sent':>9} {'pps':>10} {'kernel_dropped':>15} {'drop_%':>7} "
          f"{'demo_detections':>16}")
    netns_up()
    try:
        with tempfile.TemporaryDirectory() as work:
            for kind in KINDS:
                pcap = os.path.join(args.dir, "with-demo", kind + ".pcap")
                for _ in range(args.runs):
                    r = one_run(pcap, work)
                    got = len(want & r["found"])
                    drop = 100.0 * r["dropped"] / max(r["sent"], 1)
                    print(f"{kind:<17} {r['sent']:>9} {r['pps']:>10.0f} {r['dropped']:>15} "
                          f"{drop:>7.2f} {got:>9}/{len(want)}", flush=True)
    finally:
        netns_down()
    print(f"           tcpreplay --topspeed on a veth pair; {os.cpu_count()} cores; "
          f"dnsentry live with the demo's expect file", file=sys.stderr)


if __name__ == "__main__":
    main()
