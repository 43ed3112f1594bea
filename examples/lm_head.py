"""Train a small language-model head with the fused, exact cross-entropy.

    python examples/lm_head.py            # 200 steps, vocabulary 8192
    python examples/lm_head.py --steps 20

A bigram model (an embedding, one Flax NNX Linear, the head) learns a synthetic token
stream with ``jaxact.losses.linear_softmax_cross_entropy``: the (tokens, vocabulary) logits
are never formed, padding tokens are masked out with ``where``, and the z-loss and label
smoothing are on. The same step with the logits written out (optax) is trained beside it
from the same initialization; the two runs' losses agree to float32 rounding, and the
compiled temp memory of both steps is printed.
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp
import optax
from flax import nnx

from jaxact import losses

VOCAB, WIDTH, BATCH, SEQ, PAD = 8192, 128, 16, 128, 0
SMOOTHING, Z_LOSS = 0.1, 1e-4


class Bigram(nnx.Module):
    def __init__(self, rngs: nnx.Rngs):
        self.embed = nnx.Embed(VOCAB, WIDTH, rngs=rngs)
        self.mix = nnx.Linear(WIDTH, WIDTH, rngs=rngs)
        self.head = nnx.Linear(WIDTH, VOCAB, use_bias=False, rngs=rngs)

    def features(self, tokens: jax.Array) -> jax.Array:
        return jax.nn.gelu(self.mix(self.embed(tokens)))


def fused_loss(model: Bigram, tokens: jax.Array) -> jax.Array:
    h, target = model.features(tokens[:, :-1]), tokens[:, 1:]
    return losses.linear_softmax_cross_entropy(
        h,
        model.head.kernel[...],
        target,
        where=target != PAD,
        label_smoothing=SMOOTHING,
        z_loss=Z_LOSS,
    )


def written_out_loss(model: Bigram, tokens: jax.Array) -> jax.Array:
    """The same loss with the logits formed: PyTorch's label smoothing, PaLM's z-loss."""
    h, target = model.features(tokens[:, :-1]), tokens[:, 1:]
    z = h @ model.head.kernel[...]
    lse = jax.nn.logsumexp(z, axis=-1)
    smooth = optax.smooth_labels(jax.nn.one_hot(target, VOCAB), SMOOTHING)
    per = optax.softmax_cross_entropy(z, smooth) + Z_LOSS * lse**2
    counted = target != PAD
    return jnp.sum(jnp.where(counted, per, 0)) / jnp.maximum(jnp.sum(counted), 1)


def stream(key: jax.Array) -> jax.Array:
    """Tokens that mostly follow from the one before (t -> 7t + 3, in 1..V-1), 10% noise,
    and a padded tail."""
    k1, k2, k3 = jax.random.split(key, 3)
    start = jax.random.randint(k1, (BATCH,), 1, VOCAB)

    def follow(t: jax.Array, _: None) -> tuple[jax.Array, jax.Array]:
        nxt = (7 * t + 3) % (VOCAB - 1) + 1
        return nxt, nxt

    _, rest = jax.lax.scan(follow, start, None, length=SEQ)
    tokens = jnp.concatenate([start[:, None], rest.T], axis=1)
    noise = jax.random.bernoulli(k2, 0.1, tokens.shape)
    tokens = jnp.where(noise, jax.random.randint(k3, tokens.shape, 1, VOCAB), tokens)
    return tokens.at[:, -8:].set(PAD)


def train(loss_fn, steps: int) -> tuple[list[float], float]:
    model = Bigram(nnx.Rngs(0))
    opt = nnx.Optimizer(model, optax.adam(3e-3), wrt=nnx.Param)

    @nnx.jit
    def step(model: Bigram, opt: nnx.Optimizer, tokens: jax.Array) -> jax.Array:
        loss, grads = nnx.value_and_grad(loss_fn)(model, tokens)
        opt.update(model, grads)
        return loss

    tokens0 = stream(jax.random.key(0))
    graph, state = nnx.split(model)

    def pure(state, tokens):
        return jax.value_and_grad(lambda s: loss_fn(nnx.merge(graph, s), tokens))(state)

    temp = jax.jit(pure).lower(state, tokens0).compile().memory_analysis().temp_size_in_bytes
    history = [float(step(model, opt, stream(jax.random.key(i)))) for i in range(steps)]
    return history, temp / 2**20


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=200)
    a = ap.parse_args(argv)
    fused, fused_mib = train(fused_loss, a.steps)
    plain, plain_mib = train(written_out_loss, a.steps)
    gap = max(abs(f - p) / abs(p) for f, p in zip(fused, plain, strict=True))
    print(f"{BATCH * SEQ} tokens x width {WIDTH} x vocabulary {VOCAB}, {a.steps} Adam steps")
    print(f"loss: {fused[0]:.4f} -> {fused[-1]:.4f} (fused); {plain[0]:.4f} -> {plain[-1]:.4f}")
    print(f"largest relative loss difference over the run: {gap:.1e}")
    print(f"compiled temp memory of value_and_grad: {fused_mib:.1f} MiB fused, {plain_mib:.1f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
