"""The console adapter: a terminal REPL over the core."""

from adapters.console.repl import run_console

__all__ = ["run_console"]
