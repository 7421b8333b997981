"""1 rank vs 2 ranks (gloo, CPU) for calibration and for one QAT epoch on the same data.

The parent starts each configuration through torch's launcher (``quantbridge.torch._launch``)
with the machine's cores split between the ranks (1 rank x 2 threads vs 2 ranks x 1 thread on 2
cores), and prints the slowest rank's time of each phase, measured inside the ranks after a
barrier (process start-up is printed apart):

* calibration: ``--calib-batches`` batches of 64 digits images (the union over the ranks; each
  rank takes every world-size-th batch), ``percentile``, ending with the synchronized merge;
* one QAT epoch: the digits training split, a global batch of 64 (64 per rank on 1 rank, 32 on
  2), DDP over the quant model, Adam, with ``get_quant_loss``.

    .venv/bin/python python-shim/benchmarks/bench_distributed.py [--cores 2] [--calib-batches 32] [--scale 1]

``--scale W`` widens the digits CNN's channels W times (more compute per step, the same number
of collectives). Numbers are printed, never asserted: compare runs on the same machine only.
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time


def _worker(out, calib_batches, scale):
    import torch
    import torch.distributed as dist
    import torch.nn.functional as F
    from torch import nn
    from torch.nn.parallel import DistributedDataParallel

    from quantbridge.examples import digits_torch
    from quantbridge.torch import build_config, calibrate, get_quant_loss, optimize_model
    from quantbridge.torch import _distributed

    info = _distributed.init_from_env(timeout_s=600)
    rank, world = info["rank"], info["world_size"]
    torch.set_num_threads(int(os.environ["QB_BENCH_THREADS"]))

    def build():
        torch.manual_seed(0)
        w = 16 * scale
        return nn.Sequential(nn.Conv2d(1, w, 3, padding=1), nn.BatchNorm2d(w), nn.ReLU(),
                             nn.Conv2d(w, 2 * w, 3, padding=1), nn.BatchNorm2d(2 * w), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Flatten(), nn.Linear(2 * w * 16, 10))

    model = build()
    cfg = build_config(model, digits_torch.INPUT_SHAPE)
    for entry in cfg["layer_strategy"].values():
        entry["quant_strategy"] = "Quant_INT8-8"
    cfg["quantbridge"] = {"calibration": {"method": "percentile"}}
    qm = optimize_model(model, cfg)
    batches = digits_torch.calibration_batches(batch_size=64, num_batches=calib_batches)
    mine = batches[rank::world]

    def timed(fn):
        _distributed.barrier()
        start = time.perf_counter()
        fn()
        elapsed = torch.tensor([time.perf_counter() - start], dtype=torch.float64)
        if world > 1:
            dist.all_reduce(elapsed, op=dist.ReduceOp.MAX)
        return float(elapsed)

    calib_s = timed(lambda: calibrate(qm, mine))
    ddp = DistributedDataParallel(qm) if world > 1 else qm
    optimizer = torch.optim.Adam(ddp.parameters(), lr=1e-4)
    data = digits_torch.load_data()
    x, y = torch.from_numpy(data["x_train"]), torch.from_numpy(data["y_train"])
    per_rank = 64 // world

    def epoch():
        ddp.train()
        order = torch.randperm(len(x), generator=torch.Generator().manual_seed(1))
        for start in range(0, len(x) - 63, 64):
            index = order[start + rank * per_rank:start + (rank + 1) * per_rank]
            loss = F.cross_entropy(ddp(x[index]), y[index]) + 0.05 * get_quant_loss(ddp)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

    epoch_s = timed(epoch)
    if rank == 0:
        with open(out, "w") as fh:
            json.dump({"calibrate_s": calib_s, "epoch_s": epoch_s, "world": world}, fh)
    dist.destroy_process_group()


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(nproc, threads, args):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "result.json")
        env = dict(os.environ, OMP_NUM_THREADS=str(threads), QB_BENCH_THREADS=str(threads))
        cmd = [sys.executable, "-m", "quantbridge.torch._launch", "--nproc_per_node", str(nproc), "--master_addr",
               "127.0.0.1", "--master_port", str(_free_port()), "--monitor_interval", "1", os.path.abspath(__file__),
               "--worker", out, "--calib-batches", str(args.calib_batches), "--scale", str(args.scale)]
        start = time.perf_counter()
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1800)
        total = time.perf_counter() - start
        if proc.returncode != 0:
            raise SystemExit(f"{nproc} rank(s) failed:\n{proc.stdout[-2000:]}{proc.stderr[-4000:]}")
        with open(out) as fh:
            result = json.load(fh)
    result["total_s"] = total
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--calib-batches", type=int, default=32)
    parser.add_argument("--scale", type=int, default=1)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _worker(args.worker, args.calib_batches, args.scale)
        return
    print(f"digits CNN (channels x{args.scale}), calibration on {args.calib_batches} batches of 64, one QAT epoch "
          f"(global batch 64), {args.cores} cores split between the ranks")
    print(f"{'ranks x threads':<16}{'calibrate':>12}{'QAT epoch':>12}{'launch+start+run':>20}")
    for nproc in (1, 2):
        r = _run(nproc, max(1, args.cores // nproc), args)
        print(f"{f'{nproc} x {max(1, args.cores // nproc)}':<16}{r['calibrate_s']:>11.2f}s{r['epoch_s']:>11.2f}s"
              f"{r['total_s']:>19.1f}s")


if __name__ == "__main__":
    main()
