"""Calibration and quantization-aware training across the ranks of a ``torch.distributed`` job.

Under a process group of more than one rank (``torch.distributed.init_process_group``, e.g.
started by ``torchrun``), every rank calibrates on its own batches and
``set_calibrate_state(quant_model, False)`` merges the statistics of every calibrating
observer before the ranges are chosen, so that every rank ends with the same scales:

* running min/max: all-reduced with MIN and MAX (exact, so the scales of ``minmax`` are bit for
  bit those of one process calibrating on the union of the ranks' batches);
* histograms (``percentile``, ``mse``): the ranks agree on a common range (MIN of the lows, MAX
  of the highs), each re-bins its counts onto it by overlap (as the histogram does when its range
  grows), the re-binned counts are gathered and summed in rank order on every rank, and the range
  is then chosen from the merged histogram. Every rank computes the same numbers in the same
  order, so the scales are bit-identical across ranks; against one process on the union of the
  batches they differ only by where the re-binning split counts (``common.qparams.rebin``): a
  ``percentile`` range moves by at most two bins of the histogram's range at either end; ``mse``
  picks the same of its candidate ranges unless two of them nearly tie.

Every observer in the model is covered: any module with an ``observer_enabled`` buffer that is
on and ``min_val``/``max_val`` buffers (``ActivationFakeQuantize`` and anything built like it),
with its ``histogram`` when it has one. The merge is a collective: every rank calls
``set_calibrate_state(quant_model, False)`` on the same model. Without a process group (or with
one rank) nothing changes. gloo (CPU tensors) and NCCL (tensors on the rank's current CUDA
device) both work.

Training under ``DistributedDataParallel`` needs nothing from here: the learned activation
scales are parameters, so DDP averages their gradients like the weights' and every rank takes
the same step. An activation quantizer that was never calibrated takes its first range, in a
training forward pass, from the MIN/MAX over every rank's first batch (:func:`reduce_range`), so
the ranks start equal too (a first pass in eval mode stays local, as it may run on one rank only).

:func:`init_from_env` starts the process group of one rank launched by ``torch.distributed.run``
(the command line's ``--nproc-per-node``).
"""

import datetime
import os

import numpy as np
import torch

from quantbridge.errors import QuantBridgeError

__all__ = ["active", "rank", "world_size", "observers", "sync_observers", "reduce_range", "total", "init_from_env",
           "barrier", "shutdown", "wrap_for_training"]


def active(group=None):
    """True when a process group of more than one rank is initialised."""
    import torch.distributed as dist

    return dist.is_available() and dist.is_initialized() and dist.get_world_size(group) > 1


def rank():
    """This process's rank in the default group (0 without a process group)."""
    import torch.distributed as dist

    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def world_size():
    """The default group's size (1 without a process group)."""
    import torch.distributed as dist

    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def _device(group=None):
    import torch.distributed as dist

    if dist.get_backend(group) == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def observers(model):
    """The calibrating observers of ``model`` in module order (each module once).

    An observer is any module with an ``observer_enabled`` buffer that is on and ``min_val`` and
    ``max_val`` buffers; its ``histogram`` (``quantbridge.common.qparams.HistogramObserver`` or
    None) is merged too. Module order is the same on every rank of the same model.
    """
    found = []
    for module in model.modules():
        flag = getattr(module, "observer_enabled", None)
        if (isinstance(flag, torch.Tensor) and flag.numel() > 0 and int(flag.reshape(-1)[0]) == 1
                and isinstance(getattr(module, "min_val", None), torch.Tensor)
                and isinstance(getattr(module, "max_val", None), torch.Tensor)):
            found.append(module)
    return found


def _bins_of(module):
    method = getattr(module, "method", "minmax")
    return 0 if method == "minmax" else int(getattr(module, "bins", 0))


def _check_same_observers(mods, group, device):
    """Every rank must merge the same observers: same count and the same histogram sizes."""
    import torch.distributed as dist

    signature = torch.tensor([float(len(mods)), float(sum(_bins_of(m) for m in mods)),
                              float(sum((i + 1) * _bins_of(m) for i, m in enumerate(mods)))],
                             dtype=torch.float64, device=device)
    lo, hi = signature.clone(), signature.clone()
    dist.all_reduce(lo, op=dist.ReduceOp.MIN, group=group)
    dist.all_reduce(hi, op=dist.ReduceOp.MAX, group=group)
    if not torch.equal(lo, hi):
        msg = (f"synchronized calibration: the ranks do not calibrate the same observers (this rank has "
               f"{len(mods)} with {int(signature[1])} histogram bins; across ranks the counts range from "
               f"{int(lo[0])} to {int(hi[0])}); every rank must build the same model and config and call "
               f"set_calibrate_state(quant_model, False) together")
        raise QuantBridgeError(msg)


@torch.no_grad()
def sync_observers(model, group=None):
    """Merge the statistics of every calibrating observer of ``model`` across the ranks of ``group``.

    A collective (every rank calls it on the same model); nothing happens without a process group
    of more than one rank. Afterwards every rank holds the same ``min_val``, ``max_val`` and
    histogram, so ending the calibration gives bit-identical scales everywhere. Returns the number
    of observers merged.
    """
    import torch.distributed as dist

    from quantbridge.common.qparams import HistogramObserver, rebin

    if not active(group):
        return 0
    mods = observers(model)
    device = _device(group)
    _check_same_observers(mods, group, device)
    if not mods:
        return 0
    lows = torch.stack([m.min_val.detach().reshape(()).to(device, torch.float32) for m in mods])
    highs = torch.stack([m.max_val.detach().reshape(()).to(device, torch.float32) for m in mods])
    dist.all_reduce(lows, op=dist.ReduceOp.MIN, group=group)
    dist.all_reduce(highs, op=dist.ReduceOp.MAX, group=group)
    for m, lo, hi in zip(mods, lows.cpu(), highs.cpu()):
        m.min_val.copy_(lo.to(m.min_val.dtype).reshape(m.min_val.shape))
        m.max_val.copy_(hi.to(m.max_val.dtype).reshape(m.max_val.shape))

    hist_mods = [m for m in mods if _bins_of(m) > 0]
    if not hist_mods:
        return len(mods)
    # a common range per histogram: MIN of the lows, MAX of the highs (ranks without data: +-inf)
    h_lo = torch.tensor([h.lo if h is not None and h.lo is not None else float("inf")
                         for h in (m.histogram for m in hist_mods)], dtype=torch.float64, device=device)
    h_hi = torch.tensor([h.hi if h is not None and h.lo is not None else float("-inf")
                         for h in (m.histogram for m in hist_mods)], dtype=torch.float64, device=device)
    dist.all_reduce(h_lo, op=dist.ReduceOp.MIN, group=group)
    dist.all_reduce(h_hi, op=dist.ReduceOp.MAX, group=group)
    h_lo, h_hi = h_lo.cpu().tolist(), h_hi.cpu().tolist()
    local = []
    for m, lo, hi in zip(hist_mods, h_lo, h_hi):
        h = m.histogram
        if not np.isfinite(lo) or h is None:
            local.append(np.zeros(_bins_of(m), dtype=np.float64))
        else:
            local.append(rebin(h, lo, hi))
    flat = torch.from_numpy(np.concatenate(local)).to(device)
    gathered = [torch.empty_like(flat) for _ in range(dist.get_world_size(group))]
    dist.all_gather(gathered, flat, group=group)
    total = np.zeros(flat.numel(), dtype=np.float64)
    for part in gathered:                       # rank order, the same sum on every rank
        total += part.cpu().numpy()
    start = 0
    for m, lo, hi in zip(hist_mods, h_lo, h_hi):
        bins = _bins_of(m)
        if np.isfinite(lo):
            merged = HistogramObserver(bins)
            merged.lo, merged.hi = float(lo), float(hi)
            merged.counts = total[start:start + bins].copy()
            m.histogram = merged
        start += bins
    return len(mods)


@torch.no_grad()
def reduce_range(lo, hi, device=None):
    """``(lo, hi)`` as floats: the MIN of ``lo`` and MAX of ``hi`` over the ranks (a collective), or
    unchanged without a process group. An uncalibrated quantizer's first range under DDP."""
    import torch.distributed as dist

    if not active():
        return float(lo), float(hi)
    device = _device()
    lo_t = torch.tensor([float(lo)], dtype=torch.float32, device=device)
    hi_t = torch.tensor([float(hi)], dtype=torch.float32, device=device)
    dist.all_reduce(lo_t, op=dist.ReduceOp.MIN)
    dist.all_reduce(hi_t, op=dist.ReduceOp.MAX)
    return float(lo_t.item()), float(hi_t.item())


def total(count):
    """``count`` summed over the ranks (a collective), or ``count`` without a process group."""
    import torch.distributed as dist

    if not active():
        return int(count)
    t = torch.tensor([int(count)], dtype=torch.int64, device=_device())
    dist.all_reduce(t)
    return int(t.item())


def barrier():
    """Wait for every rank (nothing without a process group)."""
    import torch.distributed as dist

    if active():
        if dist.get_backend() == "nccl":
            dist.barrier(device_ids=[torch.cuda.current_device()])
        else:
            dist.barrier()


def init_from_env(timeout_s=None, backend=None):
    """Start the default process group of a rank launched by ``torch.distributed.run``.

    Reads ``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR`` and ``MASTER_PORT`` from the environment (and
    ``LOCAL_RANK`` for the CUDA device). ``backend`` defaults to ``QUANTBRIDGE_DIST_BACKEND`` or
    gloo, which serves CPU and CUDA models alike; NCCL (``QUANTBRIDGE_DIST_BACKEND=nccl``) needs the
    model on the rank's GPU (``cuda:LOCAL_RANK``, made current here); ``timeout_s`` (default ``QUANTBRIDGE_DIST_TIMEOUT`` or 1800) bounds every
    collective. Returns ``{"rank", "world_size", "local_rank", "backend"}``; a process group that
    is already initialised is kept.
    """
    import torch.distributed as dist

    missing = [k for k in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT") if not os.environ.get(k)]
    if missing:
        msg = (f"init_from_env: the environment lacks {missing}; expected a rank started by "
               f"torch.distributed.run (torchrun) or quantbridge --nproc-per-node")
        raise QuantBridgeError(msg)
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if backend is None:
        backend = os.environ.get("QUANTBRIDGE_DIST_BACKEND") or "gloo"
    if backend not in ("gloo", "nccl"):
        msg = f"distributed backend {backend!r} is not supported; expected 'gloo' or 'nccl'"
        raise QuantBridgeError(msg)
    if timeout_s is None:
        timeout_s = float(os.environ.get("QUANTBRIDGE_DIST_TIMEOUT") or 1800)
    if not dist.is_initialized():
        if backend == "nccl":
            torch.cuda.set_device(local_rank)
        dist.init_process_group(backend, init_method="env://", timeout=datetime.timedelta(seconds=float(timeout_s)))
    return {"rank": dist.get_rank(), "world_size": dist.get_world_size(), "local_rank": local_rank,
            "backend": dist.get_backend()}


def shutdown():
    """Destroy the default process group if one is initialised."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def wrap_for_training(quant_model):
    """``quant_model`` wrapped in ``DistributedDataParallel`` under a process group of several ranks
    (on the CUDA device of the rank when its parameters are there), else ``quant_model`` itself."""
    if not active():
        return quant_model
    from torch.nn.parallel import DistributedDataParallel

    device = next((p.device for p in quant_model.parameters()), torch.device("cpu"))
    if device.type == "cuda":
        return DistributedDataParallel(quant_model, device_ids=[device.index])
    return DistributedDataParallel(quant_model)
