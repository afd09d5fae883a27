"""`--quality exact|fast|draft`: what each preset changes in the paper's call.

- exact: the paper's call (50 steps, true CFG 4, or what --steps/--cfg say); only changes that
  give the same layers (batched CFG, attention kernel, streaming) are allowed.
- fast: the same call with TaylorSeer step caching: after a warm-up (the first 20% of the steps,
  where the layout forms) the transformer runs in full every third step only, and the steps in
  between are predicted from the last full ones (first-order Taylor expansion of the output
  projection, every block skipped); the last 10% run in full again for the fine detail.
- draft: at most 20 steps and CFG 2.5 (ComfyUI's template for this model), with the same
  caching, for previews.

TaylorSeer was chosen over FirstBlockCache because its schedule does not depend on the weights,
so the share of full passes, and hence the time, is known before the run (the planner uses it);
FirstBlockCache needs a second transformer block and skips by a residual threshold that cannot
be tuned on random weights. Deviation from the exact call on the tiny pipeline: notes/qwen.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from model.base import DecomposeError

QUALITIES = ("exact", "fast", "draft")
DRAFT_STEPS, DRAFT_CFG = 20, 2.5
CACHE_INTERVAL = 3
WARMUP_SHARE, COOLDOWN_SHARE = 0.2, 0.1


@dataclass(frozen=True)
class Preset:
    quality: str
    steps: int
    cfg: float
    cache: bool

    def cache_config(self):  # noqa: ANN201 - diffusers is optional
        try:
            from diffusers.hooks import TaylorSeerCacheConfig
        except ImportError as exc:
            raise DecomposeError(
                f"--quality {self.quality} needs TaylorSeer step caching, which this diffusers "
                "lacks; pip install -U diffusers (0.42 is tested)"
            ) from exc

        before, after = _window(self.steps)
        return TaylorSeerCacheConfig(
            cache_interval=CACHE_INTERVAL, disable_cache_before_step=before,
            disable_cache_after_step=after, use_lite_mode=True,
        )

    def full_steps(self) -> int:
        """Steps whose transformer passes run in full (all of them without caching)."""
        return full_steps(self.steps) if self.cache else self.steps


def _window(steps: int) -> tuple[int, int]:
    before = max(2, round(WARMUP_SHARE * steps))
    after = steps - max(1, round(COOLDOWN_SHARE * steps))
    return before, max(before, after)


def full_steps(steps: int) -> int:
    """TaylorSeer's own rule (diffusers.hooks.taylorseer_cache): a step computes in the warm-up,
    in the cool-down, and every CACHE_INTERVAL-th step counted from one after the warm-up."""
    before, after = _window(steps)
    return sum(
        1 for s in range(steps)
        if s < before or s >= after or (s - before - 1) % CACHE_INTERVAL == 0
    )


def preset(quality: str, steps: int, cfg: float) -> Preset:
    """The preset for `quality`; exact and fast keep the asked steps and CFG, draft lowers
    them to 20 and 2.5 (or keeps lower ones)."""
    quality = (quality or "exact").lower()
    if quality not in QUALITIES:
        raise DecomposeError(f"unknown quality '{quality}'; choose exact, fast or draft")
    if quality == "draft":
        return Preset("draft", min(steps, DRAFT_STEPS), min(cfg, DRAFT_CFG), cache=True)
    return Preset(quality, steps, cfg, cache=quality == "fast")
