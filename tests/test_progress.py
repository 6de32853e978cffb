"""dpbench.progress: bars on a terminal, nothing in a log file."""

import io
import sys

import numpy as np

from dpbench.progress import progress, progress_bar
from dpbench.sparse.dictionary import learn_dictionary


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_no_bar_when_stderr_is_not_a_terminal(monkeypatch):
    log = io.StringIO()  # what a workflow job's stderr is: a file
    monkeypatch.setattr(sys, "stderr", log)
    assert list(progress(range(5), "epochs")) == [0, 1, 2, 3, 4]
    with progress_bar("steps", total=3) as bar:
        bar.update(3)
    assert log.getvalue() == ""


def test_bar_on_a_terminal(monkeypatch):
    term = Terminal()
    monkeypatch.setattr(sys, "stderr", term)
    assert list(progress(iter("abc"), "epochs", total=3)) == ["a", "b", "c"]
    assert "epochs" in term.getvalue() and "0/3" in term.getvalue()


def test_dictionary_learning_counts_its_steps(monkeypatch):
    term = Terminal()
    monkeypatch.setattr(sys, "stderr", term)
    x = np.random.default_rng(0).standard_normal((64, 8))
    learn_dictionary(x, 4, 0.1, seed=0, n_iter=2, batch_size=32)
    assert "dictionary learning" in term.getvalue() and "0/4" in term.getvalue()  # 2 passes x 2 batches
