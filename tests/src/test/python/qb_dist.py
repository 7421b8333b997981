"""User code stand-ins for the distributed command-line tests."""


def batches_failing_on_rank_1(rank=0, world_size=1):
    """Rank 1's data function fails; the others get the project's batches."""
    if rank == 1:
        raise ValueError(f"no data shard for rank {rank} of {world_size}")
    from digitsnet import data

    return data.calibration_batches(rank=rank, world_size=world_size)


def activation_scales(path):
    """``{key: scale}`` of every activation quantizer in a saved quant state (exact floats)."""
    import torch

    state = torch.load(path, map_location="cpu")
    return {k: float(v.reshape(-1)[0]) for k, v in state.items() if k.endswith("activation_quant.scale")}


def weights_differ(path_a, path_b):
    """Names of the tensors whose values differ between two saved states."""
    import torch

    a, b = torch.load(path_a, map_location="cpu"), torch.load(path_b, map_location="cpu")
    return sorted(k for k in a if k not in b or not torch.equal(a[k], b[k]))
