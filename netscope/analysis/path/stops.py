"""How a walk stops early: at its end (Stop), or at a random choice it must fork on (Fork)."""

from __future__ import annotations

from netscope.analysis.path.netfilter import Outcome
from netscope.model.journey import Verdict


class Stop(Exception):
    """The walk ended: how (`end`), why in words (`reason`), and in which namespace."""

    def __init__(self, end: Verdict, reason: str, netns: str | None) -> None:
        super().__init__(reason)
        self.end, self.reason, self.netns = end, reason, netns


class Fork(Exception):
    """A netfilter hook takes a random decision the walk has not taken yet (the walk's last
    hop is the choice): `outcomes` are the hook's possible endings with their probabilities
    and the decisions leading there, `choices` what each leads to, in words."""

    def __init__(self, outcomes: list[Outcome], choices: list[str]) -> None:
        super().__init__(f"{len(outcomes)} outcomes")
        self.outcomes, self.choices = outcomes, choices
