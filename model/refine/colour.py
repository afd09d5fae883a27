"""The colour solve: per pixel, the smallest change to the layers' colours that makes their
composite the picture (done per pixel in kernels.refine_rows).

With visibilities v_k = a_k T_k (T_k: transmittance of the layers above), the composite's
premultiplied colour is sum_k v_k c_k. A residual r is spread as c_k += q_k r / sum_j v_j q_j
with q_k = v_k T_k^2: the minimum of sum_k |dc_k|^2 / (v_k T_k^2) under the constraint. A
layer nobody sees (v_k = 0) is not changed, and a layer partly covered takes little, so that
moving the layer above it reveals no outline of its edge (issue 15): at a 50 % edge the
element takes 94 % of the correction, the background under it 6 %. Layers that reach 0 or 1
drop out for that channel and the rest is spread again (up to 4 rounds). Pixels already
within half a grey level are left alone, so refining an exact stack changes nothing.

Before that, the stack's coverage is matched to the picture's alpha (too transparent: the
bottom layer fills in; too opaque: every layer's optical depth is scaled by one factor), and
after it the colours are rounded to 8 bits, the most visible layer taking any rounding that
would leave the composite half a level off.
"""

