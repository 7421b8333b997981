"""One rank of the distributed tests, started by ``torch.distributed.run`` (see test_distributed.py).

``python dist_worker.py SCENARIO OUT_DIR FLOAT_PTH``. Every rank writes ``OUT_DIR/rank<r>.json``;
rank 0 also writes the saved states and exported files. Scenarios:

* ``calibrate``: each rank calibrates on its share of the digits calibration batches (batch i
  goes to rank i mod world size) with minmax, percentile and mse; writes every state;
* ``qat``: DDP retraining from the minmax-calibrated state on rank-sharded batches, recording a
  digest of every parameter after each step; rank 0 saves and exports;
* ``qat_uncalibrated``: the same from the float weights, without calibration.
"""

import hashlib
import json
import os
import sys

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel

from quantbridge.examples import digits_torch
from quantbridge.torch import (build_config, calibrate, generate_final_model, get_quant_loss, optimize_model,
                               quant_params)
from quantbridge.torch import _distributed

METHODS = ("minmax", "percentile", "mse")


def config(model, method):
    cfg = build_config(model, digits_torch.INPUT_SHAPE)
    for entry in cfg["layer_strategy"].values():
        entry["quant_strategy"] = "Quant_INT8-8"
    cfg["quantbridge"] = {"calibration": {"method": method}}
    return cfg


def float_model(pth):
    model = digits_torch.build_model()
    model.load_state_dict(torch.load(pth))
    return model


def my_batches(rank, world):
    return digits_torch.calibration_batches()[rank::world]


def digest(module, buffers=True):
    """sha256 of every parameter (weights, biases, learned activation scales) and, with ``buffers``,
    every buffer. Under DDP the BatchNorm running statistics are each rank's own until the next
    forward pass broadcasts rank 0's, so the per-step digests of training cover parameters only."""
    h = hashlib.sha256()
    items = module.state_dict().items() if buffers else module.named_parameters()
    for key, value in items:
        h.update(key.encode())
        h.update(value.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def scales(module):
    return [float(m.scale) for m in module.modules() if hasattr(m, "observer_enabled")]


def scenario_calibrate(out, pth, rank, world):
    result = {}
    for method in METHODS:
        model = float_model(pth)
        qm = optimize_model(model, config(model, method))
        calibrate(qm, my_batches(rank, world))
        result[method] = {"params": quant_params(qm), "digest": digest(qm)}
        torch.save(qm.state_dict(), os.path.join(out, f"{method}_rank{rank}.pth"))
    return result


def scenario_qat(out, pth, rank, world, calibrated=True, steps=12):
    model = float_model(pth)
    qm = optimize_model(model, config(model, "minmax"))
    if calibrated:
        calibrate(qm, my_batches(rank, world))
    ddp = DistributedDataParallel(qm)                # the vendor's order: optimize_model, then DDP
    optimizer = torch.optim.Adam(ddp.parameters(), lr=1e-3)
    data = digits_torch.load_data()
    x, y = torch.from_numpy(data["x_train"]), torch.from_numpy(data["y_train"])
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(1))
    batch = 32
    digests, scale_trace = [digest(qm, buffers=False)], [scales(qm)]
    ddp.train()
    for step in range(steps):
        index = order[(step * world + rank) * batch:(step * world + rank + 1) * batch]   # this rank's shard
        loss = F.cross_entropy(ddp(x[index]), y[index])
        # get_quant_loss takes the DDP wrapper or the module inside it
        loss = loss + 0.05 * get_quant_loss(ddp if step % 2 == 0 else ddp.module)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        digests.append(digest(qm, buffers=False))
        scale_trace.append(scales(qm))
    result = {"digests": digests, "scales": scale_trace, "params": quant_params(qm)}
    if rank == 0:
        state = os.path.join(out, "trained.pth")
        torch.save(ddp.module.state_dict(), state)
        os.chdir(out)
        generate_final_model(digits_torch.build_model(), config(digits_torch.build_model(), "minmax"),
                             "trained.pth", "./", name="dist")
    _distributed.barrier()
    return result


def main():
    scenario, out, pth = sys.argv[1:4]
    info = _distributed.init_from_env(timeout_s=120)
    rank, world = info["rank"], info["world_size"]
    torch.set_num_threads(1)
    if scenario == "calibrate":
        result = scenario_calibrate(out, pth, rank, world)
    elif scenario == "qat":
        result = scenario_qat(out, pth, rank, world)
    elif scenario == "qat_uncalibrated":
        result = scenario_qat(out, pth, rank, world, calibrated=False, steps=4)
    else:
        raise SystemExit(f"unknown scenario {scenario}")
    result["info"] = info
    with open(os.path.join(out, f"rank{rank}.json"), "w") as fh:
        json.dump(result, fh)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
