#!/usr/bin/env python3
"""Free port ranges for tests: the one home of how tests pick a gateway's base port.

A gateway on base port P binds P, P+1..P+10 and its metrics on P+11 (docs/PROTOCOL.md). Bases are
drawn below Linux's ephemeral range (32768-60999 by default): a port in that range can be taken
between our check and the gateway's bind by any outgoing connection's local port, which made
launch tests fail now and then on busy machines.

As a module: free_base(). As a program: prints one base (for the shell tests' testlib.sh).
"""
import random
import socket

SPAN = 12                     # P .. P+11
LOW, HIGH = 20000, 32000      # below the ephemeral range


def free_base(span=SPAN):
    """A port P such that P..P+span-1 are free on 127.0.0.1 now (checked by binding them)."""
    for _ in range(500):
        base, socks = random.randrange(LOW, HIGH, 16), []
        try:
            for off in range(span):
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", base + off))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError(f"no {span} free ports in {LOW}..{HIGH} on 127.0.0.1")


if __name__ == "__main__":
    print(free_base())
