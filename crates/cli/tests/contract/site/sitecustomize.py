# Loaded by Python at start-up for the schemathesis runs of crates/cli/tests/contract.rs.
#
# CPython 3.11 keeps the AST constructor's recursion depth in interpreter-wide state, so two
# threads calling ast.parse at once can corrupt it and one of them fails with
# "SystemError: AST constructor recursion depth mismatch" (python/cpython#106905). Hypothesis
# parses lambda sources with ast.parse to describe strategies, and schemathesis runs it in worker
# threads, so a CI run failed on this once without any fault in Rapport. Serialising ast.parse
# keeps the workers parallel everywhere else.
import ast
import threading

_lock = threading.Lock()
_parse = ast.parse


def _serialised_parse(*args, **kwargs):
    with _lock:
        return _parse(*args, **kwargs)


ast.parse = _serialised_parse
