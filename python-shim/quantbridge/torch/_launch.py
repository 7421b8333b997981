"""``python -m quantbridge.torch._launch [torchrun options] program [args]``: torch's own launcher
(``torch.distributed.run``, torchrun) with the fix for pytorch issue 72086.

On Python 3.10 with torch 1.11 the launcher's agent crashes (SIGSEGV) when it reads a one-byte
value from its rendezvous store: ``Store.get`` builds the Python ``bytes`` with the GIL released,
and CPython 3.10 hands out its one-byte ``bytes`` singletons from interpreter state that a thread
without the GIL cannot reach. The agents' exit barrier stores each agent's rank as such a value,
so every run ends in that crash after its workers finished. This module gives the barrier values
of two bytes or more and then runs ``torch.distributed.run.main`` unchanged.
"""

import sys

__all__ = ["main"]


def _patch_exit_barrier():
    from torch.distributed.elastic.utils import store as store_util

    def barrier(store, rank, world_size, key_prefix, barrier_timeout=300):
        data = f"rank{rank}".encode("UTF-8")      # never a one-byte value (pytorch issue 72086)
        store_util.synchronize(store, data, rank, world_size, key_prefix, barrier_timeout)

    store_util.barrier = barrier


def main(argv=None):
    """Run torch's launcher on ``argv`` (default: this process's arguments)."""
    from torch.distributed import run

    _patch_exit_barrier()
    run.main(sys.argv[1:] if argv is None else list(argv))


if __name__ == "__main__":
    main()
