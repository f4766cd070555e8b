//! The LSTM's bidirectional layer as one custom operation on burn's `flex` CPU backend, with a
//! hand-written backward pass through time.
//!
//! Why: burn's `BiLstm` runs every time step as some twenty small tensor operations (eight
//! separate gate products, each activation a pass of its own, each allocating); profiles showed
//! them, not arithmetic, taking the time. Here:
//! - the input projection of all time steps is one matrix product hoisted out of the time loop
//!   (`[steps · batch, D] · [D, 4H]`), the recurrent part one `[batch, H] · [H, 4H]` product per
//!   step for the four gates together, and the activations and the cell update one fused pass
//!   with vectorised `exp`;
//! - the backward pass keeps only the gates' pre-activation gradients inside the time loop; the
//!   weight and input gradients are three products after it;
//! - the batch is cut into chunks of [`CHUNK`] sequences and every (chunk, direction) pair runs
//!   on a thread of its own, so all cores work without synchronising at each step;
//! - in the last layer the network reads only the outputs at the last time step, where the
//!   reverse direction has run a single step: `last_only` computes just that, skipping work
//!   whose gradient is zero.
//!
//! Determinism: every value is computed by one thread in a fixed order, and gradients are summed
//! over the chunks (and, for the input, over the two directions) in order, so results do not
//! depend on the number of threads or on scheduling.
//!
//! Parameters stay burn's `BiLstm` (eight gate `Linear`s per direction), so saved models keep
//! their format: [`bilstm_sequence`] and [`bilstm_last`] concatenate each direction's gate
//! weights into one `[D, 4H]` and one `[H, 4H]` matrix with burn operations, whose autodiff
//! hands the gradients back to the gates.

use std::sync::Arc;

use burn::backend::autodiff::Autodiff;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Dispatch, Flex, backend_extension};
use burn::nn::{BiLstm, Lstm};
use burn::tensor::Tensor;
use rayon::prelude::*;

use super::activations::{cell_backward, cell_forward};
use super::kernels::{Operand, dense, matmul, tensor, values};

/// Sequences per work unit: fixed, so the order in which gradients are summed never depends on
/// the thread count.
const CHUNK: usize = 16;

/// Custom LSTM operations (f32, batch first).
#[backend_extension(Flex, Autodiff)]
pub trait LstmKernels: Backend {
    /// A bidirectional LSTM layer with zero initial state over `x` `[B, L, D]`. For each
    /// direction (forward, then reverse): `w_ih` `[D, 4H]`, `w_hh` `[H, 4H]` and `bias` `[4H]`,
    /// gates in the order input, forget, cell, output. Output `[B, L, 2H]` (at each time step
    /// the forward state, then the reverse state) or, with `last_only`, `[B, 2H]`: the states
    /// at the last time step only.
    // burn's `backend_extension` makes each tensor argument a node of the autodiff graph, so
    // the two directions' weights cannot travel in a struct: the one allowance of its kind.
    #[allow(clippy::too_many_arguments)]
    fn bilstm(
        x: FloatTensor<Self>,
        w_ih_fwd: FloatTensor<Self>,
        w_hh_fwd: FloatTensor<Self>,
        bias_fwd: FloatTensor<Self>,
        w_ih_rev: FloatTensor<Self>,
        w_hh_rev: FloatTensor<Self>,
        bias_rev: FloatTensor<Self>,
        last_only: bool,
    ) -> FloatTensor<Self>;
}

impl LstmKernels for Flex {
    fn bilstm(
        x: FlexTensor,
        w_ih_fwd: FlexTensor,
        w_hh_fwd: FlexTensor,
        bias_fwd: FlexTensor,
        w_ih_rev: FlexTensor,
        w_hh_rev: FlexTensor,
        bias_rev: FlexTensor,
        last_only: bool,
    ) -> FlexTensor {
        let layer = Layer::new(
            &x,
            [
                [w_ih_fwd, w_hh_fwd, bias_fwd],
                [w_ih_rev, w_hh_rev, bias_rev],
            ],
            last_only,
        );
        layer.forward(&dense(&x)).0
    }
}

impl<C: CheckpointStrategy> LstmKernels for Autodiff<Flex, C> {
    fn bilstm(
        x: FloatTensor<Self>,
        w_ih_fwd: FloatTensor<Self>,
        w_hh_fwd: FloatTensor<Self>,
        bias_fwd: FloatTensor<Self>,
        w_ih_rev: FloatTensor<Self>,
        w_hh_rev: FloatTensor<Self>,
        bias_rev: FloatTensor<Self>,
        last_only: bool,
    ) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct BiLstmBackward;

        impl Backward<Flex, 7> for BiLstmBackward {
            /// The layer (sizes and weights) and what its forward pass recorded.
            type State = Arc<(Layer, Vec<Trace>)>;

            fn backward(
                self,
                ops: Ops<Self::State, 7>,
                grads: &mut Gradients,
                _checkpointer: &mut Checkpointer,
            ) {
                let grad = grads.consume::<Flex>(&ops.node);
                let (layer, traces) = &*ops.state;
                let [node_x, rest @ ..] = ops.parents;
                let need_x = node_x.is_some();
                let (dx, params) = layer.backward(traces, &dense(&grad), need_x);
                if let (Some(node), Some(dx)) = (node_x, dx) {
                    grads.register::<Flex>(node.id, dx);
                }
                for (node, g) in rest.into_iter().zip(params) {
                    if let Some(node) = node {
                        grads.register::<Flex>(node.id, g);
                    }
                }
            }
        }

        let layer = Layer::new(
            x.primitive(),
            [
                [
                    w_ih_fwd.primitive(),
                    w_hh_fwd.primitive(),
                    bias_fwd.primitive(),
                ]
                .map(Clone::clone),
                [
                    w_ih_rev.primitive(),
                    w_hh_rev.primitive(),
                    bias_rev.primitive(),
                ]
                .map(Clone::clone),
            ],
            last_only,
        );
        let xd = dense(x.primitive());
        match BiLstmBackward
            .prepare::<C>([
                x.node(),
                w_ih_fwd.node(),
                w_hh_fwd.node(),
                bias_fwd.node(),
                w_ih_rev.node(),
                w_hh_rev.node(),
                bias_rev.node(),
            ])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (out, traces) = layer.forward(&xd);
                prep.finish(Arc::new((layer, traces)), out)
            }
            OpsKind::UnTracked(prep) => prep.finish(layer.forward(&xd).0),
        }
    }
}

/// A bidirectional layer over `x` `[B, L, D]` with `layer`'s weights; `[B, L, 2H]`.
pub(crate) fn bilstm_sequence(x: Tensor<3>, layer: &BiLstm) -> Tensor<3> {
    Tensor::from_dispatch(call(x, layer, false))
}

/// A bidirectional layer's states at the last time step of `x` `[B, L, D]`: `[B, 2H]`, the
/// same values as `out[:, L - 1, :]` of [`bilstm_sequence`].
pub(crate) fn bilstm_last(x: Tensor<3>, layer: &BiLstm) -> Tensor<2> {
    Tensor::from_dispatch(call(x, layer, true))
}

/// [`LstmKernels::bilstm`] with the weights of `layer`.
fn call(x: Tensor<3>, layer: &BiLstm, last_only: bool) -> burn::tensor::DispatchTensor {
    let [w_ih_fwd, w_hh_fwd, bias_fwd] = direction_weights(&layer.forward);
    let [w_ih_rev, w_hh_rev, bias_rev] = direction_weights(&layer.reverse);
    <Dispatch as LstmKernels>::bilstm(
        x.into_dispatch(),
        w_ih_fwd,
        w_hh_fwd,
        bias_fwd,
        w_ih_rev,
        w_hh_rev,
        bias_rev,
        last_only,
    )
}

/// One direction's gate weights as `[D, 4H]`, `[H, 4H]` and a `[4H]` bias (input and hidden
/// biases added), gates in the order input, forget, cell, output.
///
/// The layer must be built as the forecaster builds it: with biases, a forget gate, and burn's
/// default activations (sigmoid gates, tanh cell and hidden) and no clipping.
fn direction_weights(lstm: &Lstm) -> [burn::tensor::DispatchTensor; 3] {
    assert!(
        lstm.clip.is_none() && !lstm.input_forget,
        "bilstm: the kernel implements the standard LSTM cell only"
    );
    let forget = lstm
        .forget_gate
        .as_ref()
        .expect("the forecaster's LSTMs have a forget gate");
    let gates = [&lstm.input_gate, forget, &lstm.cell_gate, &lstm.output_gate];
    let w_ih = gates.map(|g| g.input_transform.weight.val());
    let w_hh = gates.map(|g| g.hidden_transform.weight.val());
    let bias = gates.map(|g| {
        let bias = |l: &burn::nn::Linear| {
            l.bias
                .as_ref()
                .expect("the forecaster's LSTMs have biases")
                .val()
        };
        bias(&g.input_transform) + bias(&g.hidden_transform)
    });
    [
        Tensor::cat(w_ih.to_vec(), 1).into_dispatch(),
        Tensor::cat(w_hh.to_vec(), 1).into_dispatch(),
        Tensor::cat(bias.to_vec(), 0).into_dispatch(),
    ]
}

/// Sizes and dense weights of one layer call.
#[derive(Debug)]
struct Layer {
    /// Sequences, time steps, input features, hidden size.
    batch: usize,
    len: usize,
    input: usize,
    hidden: usize,
    /// Whether only the last time step's states are produced.
    last_only: bool,
    /// Per direction (forward, reverse): `w_ih`, `w_hh`, `bias`.
    weights: [[FlexTensor; 3]; 2],
}

/// One (chunk, direction) work unit.
#[derive(Clone, Copy, Debug)]
struct Unit {
    /// First sequence of the chunk and its number of sequences.
    start: usize,
    size: usize,
    /// Whether the unit runs the reverse direction.
    reverse: bool,
    /// Time steps run (all of them, or one for the reverse direction with `last_only`).
    steps: usize,
}

/// What the forward pass of one unit keeps for the backward pass.
#[derive(Debug)]
struct Trace {
    unit: Unit,
    /// Inputs in processing order, `[steps, size, D]`.
    xs: Vec<f32>,
    /// Activated gates, `[steps, size, 4H]`.
    gates: Vec<f32>,
    /// Hidden states before each step and after the last, `[steps + 1, size, H]` (the first
    /// is zero).
    h: Vec<f32>,
    /// Cell states likewise.
    c: Vec<f32>,
    /// `tanh` of the cell state after each step, `[steps, size, H]`.
    tc: Vec<f32>,
}

/// One unit's gradients.
struct UnitGrads {
    /// Input gradient in processing order, `[steps, size, D]` (empty when not needed).
    dxs: Vec<f32>,
    /// `[D, 4H]`, `[H, 4H]`, `[4H]`.
    params: [Vec<f32>; 3],
}

impl Unit {
    /// The time step of processing step `s`.
    fn time(&self, s: usize, len: usize) -> usize {
        if self.reverse { len - 1 - s } else { s }
    }

    /// The processing step whose state `last_only` outputs.
    fn last_step(&self) -> usize {
        self.steps - 1
    }

    /// 0 for the forward direction, 1 for the reverse.
    fn direction(&self) -> usize {
        usize::from(self.reverse)
    }
}

impl Layer {
    /// Checks the shapes of `x` and the weights.
    fn new(x: &FlexTensor, weights: [[FlexTensor; 3]; 2], last_only: bool) -> Self {
        let shape = |t: &FlexTensor| t.layout().shape().to_vec();
        let xs = shape(x);
        assert_eq!(xs.len(), 3, "bilstm: input must be [B, L, D], got {xs:?}");
        let (batch, len, input) = (xs[0], xs[1], xs[2]);
        let hidden = shape(&weights[0][1])[0];
        for dir in &weights {
            let expected = [
                vec![input, 4 * hidden],
                vec![hidden, 4 * hidden],
                vec![4 * hidden],
            ];
            for (t, want) in dir.iter().zip(&expected) {
                assert_eq!(&shape(t), want, "bilstm: weight shapes");
            }
        }
        assert!(len > 0 && hidden > 0, "bilstm: empty sequence or layer");
        Self {
            batch,
            len,
            input,
            hidden,
            last_only,
            weights: weights.map(|dir| dir.map(|t| dense(&t))),
        }
    }

    /// The work units, chunk by chunk, forward direction first.
    fn units(&self) -> Vec<Unit> {
        (0..self.batch)
            .step_by(CHUNK)
            .flat_map(|start| {
                let size = CHUNK.min(self.batch - start);
                [false, true].map(|reverse| Unit {
                    start,
                    size,
                    reverse,
                    steps: if reverse && self.last_only {
                        1
                    } else {
                        self.len
                    },
                })
            })
            .collect()
    }

    /// The weights of a direction as slices.
    fn weights(&self, direction: usize) -> [&[f32]; 3] {
        let (d, h4) = (self.input, 4 * self.hidden);
        let [w_ih, w_hh, bias] = &self.weights[direction];
        [
            values(w_ih, d * h4),
            values(w_hh, self.hidden * h4),
            values(bias, h4),
        ]
    }

    /// The output and each unit's trace.
    fn forward(&self, x: &FlexTensor) -> (FlexTensor, Vec<Trace>) {
        let x = values(x, self.batch * self.len * self.input);
        let traces: Vec<Trace> = self
            .units()
            .into_par_iter()
            .map(|unit| self.run(x, unit))
            .collect();
        let (l, hd) = (self.len, self.hidden);
        let width = 2 * hd;
        let rows = if self.last_only {
            self.batch
        } else {
            self.batch * l
        };
        let mut out = vec![0.0f32; rows * width];
        for tr in &traces {
            let u = tr.unit;
            let steps: Vec<usize> = if self.last_only {
                vec![u.last_step()]
            } else {
                (0..u.steps).collect()
            };
            for s in steps {
                for j in 0..u.size {
                    let row = if self.last_only {
                        u.start + j
                    } else {
                        (u.start + j) * l + u.time(s, l)
                    };
                    out[row * width + u.direction() * hd..][..hd]
                        .copy_from_slice(&tr.h[((s + 1) * u.size + j) * hd..][..hd]);
                }
            }
        }
        let shape: &[usize] = if self.last_only {
            &[self.batch, width]
        } else {
            &[self.batch, l, width]
        };
        (tensor(out, shape), traces)
    }

    /// Runs one unit's recurrence.
    fn run(&self, x: &[f32], unit: Unit) -> Trace {
        let (l, d, hd, h4) = (self.len, self.input, self.hidden, 4 * self.hidden);
        let (size, steps) = (unit.size, unit.steps);
        let [w_ih, w_hh, bias] = self.weights(unit.direction());

        let mut xs = vec![0.0f32; steps * size * d];
        for s in 0..steps {
            let t = unit.time(s, l);
            for j in 0..size {
                xs[(s * size + j) * d..][..d]
                    .copy_from_slice(&x[((unit.start + j) * l + t) * d..][..d]);
            }
        }
        // Input projection of every step at once, onto the bias.
        let mut gates = bias.repeat(steps * size);
        matmul(
            (steps * size, h4, d),
            &mut gates,
            h4,
            true,
            Operand::rows(&xs, d),
            Operand::rows(w_ih, h4),
        );

        let mut h = vec![0.0f32; (steps + 1) * size * hd];
        let mut c = vec![0.0f32; (steps + 1) * size * hd];
        let mut tc = vec![0.0f32; steps * size * hd];
        let block = size * hd;
        for s in 0..steps {
            let a = &mut gates[s * size * h4..(s + 1) * size * h4];
            if s > 0 {
                matmul(
                    (size, h4, hd),
                    a,
                    h4,
                    true,
                    Operand::rows(&h[s * block..(s + 1) * block], hd),
                    Operand::rows(w_hh, h4),
                );
            }
            let (c_prev, c_next) = c[s * block..(s + 2) * block].split_at_mut(block);
            let h_next = &mut h[(s + 1) * block..(s + 2) * block];
            let tc = &mut tc[s * block..(s + 1) * block];
            for j in 0..size {
                let a = &mut a[j * h4..(j + 1) * h4];
                cell_forward(
                    a,
                    &c_prev[j * hd..][..hd],
                    &mut c_next[j * hd..][..hd],
                    &mut tc[j * hd..][..hd],
                    &mut h_next[j * hd..][..hd],
                );
            }
        }
        Trace {
            unit,
            xs,
            gates,
            h,
            c,
            tc,
        }
    }

    /// The input gradient (when `need_x`) and the six weight gradients, given the output's
    /// gradient.
    fn backward(
        &self,
        traces: &[Trace],
        grad: &FlexTensor,
        need_x: bool,
    ) -> (Option<FlexTensor>, Vec<FlexTensor>) {
        let (l, d, hd, h4) = (self.len, self.input, self.hidden, 4 * self.hidden);
        let rows = if self.last_only {
            self.batch
        } else {
            self.batch * l
        };
        let grad = values(grad, rows * 2 * hd);
        let per_unit: Vec<UnitGrads> = traces
            .par_iter()
            .map(|tr| self.unit_backward(tr, grad, need_x))
            .collect();

        let dx = need_x.then(|| {
            let mut dx = vec![0.0f32; self.batch * l * d];
            for (tr, g) in traces.iter().zip(&per_unit) {
                let u = tr.unit;
                for s in 0..u.steps {
                    for j in 0..u.size {
                        let at = ((u.start + j) * l + u.time(s, l)) * d;
                        dx[at..at + d]
                            .iter_mut()
                            .zip(&g.dxs[(s * u.size + j) * d..][..d])
                            .for_each(|(a, b)| *a += b);
                    }
                }
            }
            tensor(dx, &[self.batch, l, d])
        });

        let mut params = Vec::with_capacity(6);
        for direction in 0..2 {
            let mut sums = [
                vec![0.0f32; d * h4],
                vec![0.0f32; hd * h4],
                vec![0.0f32; h4],
            ];
            for (tr, g) in traces.iter().zip(&per_unit) {
                if tr.unit.direction() != direction {
                    continue;
                }
                for (sum, part) in sums.iter_mut().zip(&g.params) {
                    sum.iter_mut().zip(part).for_each(|(a, b)| *a += b);
                }
            }
            let [w_ih, w_hh, bias] = sums;
            params.push(tensor(w_ih, &[d, h4]));
            params.push(tensor(w_hh, &[hd, h4]));
            params.push(tensor(bias, &[h4]));
        }
        (dx, params)
    }

    /// Backpropagation through one unit's time steps.
    fn unit_backward(&self, tr: &Trace, grad: &[f32], need_x: bool) -> UnitGrads {
        let (l, d, hd, h4) = (self.len, self.input, self.hidden, 4 * self.hidden);
        let u = tr.unit;
        let (size, steps) = (u.size, u.steps);
        let block = size * hd;
        let [w_ih, w_hh, _] = self.weights(u.direction());
        let width = 2 * hd;
        let offset = u.direction() * hd;

        let mut da = vec![0.0f32; steps * size * h4];
        let mut dh = vec![0.0f32; block];
        let mut dc = vec![0.0f32; block];
        for s in (0..steps).rev() {
            // The output's gradient at this step joins the one flowing back from step s + 1.
            let emitted = !self.last_only || s == u.last_step();
            if emitted {
                for j in 0..size {
                    let row = if self.last_only {
                        u.start + j
                    } else {
                        (u.start + j) * l + u.time(s, l)
                    };
                    dh[j * hd..][..hd]
                        .iter_mut()
                        .zip(&grad[row * width + offset..][..hd])
                        .for_each(|(a, b)| *a += b);
                }
            }
            let da_s = &mut da[s * size * h4..(s + 1) * size * h4];
            for j in 0..size {
                let at = s * block + j * hd;
                cell_backward(
                    &tr.gates[(s * size + j) * h4..][..h4],
                    &tr.c[at..at + hd],
                    &tr.tc[at..at + hd],
                    &dh[j * hd..][..hd],
                    &mut dc[j * hd..][..hd],
                    &mut da_s[j * h4..][..h4],
                );
            }
            if s > 0 {
                // dh_{s-1} = da_s · W_hhᵀ
                matmul(
                    (size, hd, h4),
                    &mut dh,
                    hd,
                    false,
                    Operand::rows(da_s, h4),
                    Operand::transposed(w_hh, h4),
                );
            }
        }

        let all = steps * size;
        let mut dw_ih = vec![0.0f32; d * h4];
        matmul(
            (d, h4, all),
            &mut dw_ih,
            h4,
            false,
            Operand::transposed(&tr.xs, d),
            Operand::rows(&da, h4),
        );
        // The state before step 0 is zero: only steps 1.. contribute to W_hh's gradient.
        let mut dw_hh = vec![0.0f32; hd * h4];
        if steps > 1 {
            let k = (steps - 1) * size;
            matmul(
                (hd, h4, k),
                &mut dw_hh,
                h4,
                false,
                Operand::transposed(&tr.h[block..block + k * hd], hd),
                Operand::rows(&da[size * h4..], h4),
            );
        }
        let mut db = vec![0.0f32; h4];
        for row in da.chunks_exact(h4) {
            db.iter_mut().zip(row).for_each(|(a, b)| *a += b);
        }
        let mut dxs = Vec::new();
        if need_x {
            dxs = vec![0.0f32; all * d];
            matmul(
                (all, d, h4),
                &mut dxs,
                d,
                false,
                Operand::rows(&da, h4),
                Operand::transposed(w_ih, h4),
            );
        }
        UnitGrads {
            dxs,
            params: [dw_ih, dw_hh, db],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::BiLstmConfig;
    use burn::tensor::{Device, TensorData};

    use crate::test_support::{
        assert_close, assert_gradient_matches_finite_differences, noise, vec_of,
    };

    /// An input `[b, l, d]` and a burn layer with hidden size `h` on `device`.
    fn setup(b: usize, l: usize, d: usize, h: usize, device: &Device) -> (Tensor<3>, BiLstm) {
        let x = Tensor::from_data(TensorData::new(noise(b * l * d, 11), [b, l, d]), device);
        // burn's generator is process-wide: hold the trainers' lock so concurrent tests that
        // check same-seed reproducibility are not disturbed.
        let _rng = crate::training::lock_rng(&crate::CancelToken::new()).unwrap();
        device.seed(5);
        let layer = BiLstmConfig::new(d, h, true).init(device);
        (x, layer)
    }

    /// Every parameter gradient of `layer`, gate by gate, in a fixed order.
    fn param_grads(layer: &BiLstm, grads: &burn::tensor::Gradients) -> Vec<Vec<f32>> {
        let mut out = Vec::new();
        for lstm in [&layer.forward, &layer.reverse] {
            let forget = lstm.forget_gate.as_ref().unwrap();
            for gate in [&lstm.input_gate, forget, &lstm.cell_gate, &lstm.output_gate] {
                for linear in [&gate.input_transform, &gate.hidden_transform] {
                    out.push(vec_of(
                        linear.weight.val().grad(grads).expect("weight gradient"),
                    ));
                    let bias = linear.bias.as_ref().unwrap().val();
                    out.push(vec_of(bias.grad(grads).expect("bias gradient")));
                }
            }
        }
        out
    }

    /// Output, input gradient and parameter gradients of a weighted sum of the layer's output,
    /// by the kernel (`custom`) or by burn's own `BiLstm`.
    fn run(
        x: &Tensor<3>,
        layer: &BiLstm,
        last_only: bool,
        custom: bool,
    ) -> (Vec<f32>, Vec<f32>, Vec<Vec<f32>>) {
        let device = x.device();
        let x = x.clone().detach().require_grad();
        let [b, l, _] = x.dims();
        let width = 2 * layer.d_hidden;
        let out: Tensor<2> = match (custom, last_only) {
            (true, true) => bilstm_last(x.clone(), layer),
            (true, false) => bilstm_sequence(x.clone(), layer).reshape([b * l, width]),
            (false, true) => layer
                .forward(x.clone(), None)
                .0
                .narrow(1, l - 1, 1)
                .reshape([b, width]),
            (false, false) => layer.forward(x.clone(), None).0.reshape([b * l, width]),
        };
        let [rows, _] = out.dims();
        let mix = Tensor::<2>::from_data(
            TensorData::new(noise(rows * width, 13), [rows, width]),
            &device,
        );
        let grads = (out.clone() * mix).sum().backward();
        let gx = vec_of(x.grad(&grads).expect("x gradient"));
        (vec_of(out), gx, param_grads(layer, &grads))
    }

    fn check_against_burn(b: usize, l: usize, d: usize, h: usize) {
        let device = Device::flex().autodiff();
        let (x, layer) = setup(b, l, d, h, &device);
        for last_only in [false, true] {
            let ours = run(&x, &layer, last_only, true);
            let burns = run(&x, &layer, last_only, false);
            let case = format!("[{b}, {l}, {d}] hidden {h}, last_only {last_only}");
            assert_close(&format!("{case}: output"), &ours.0, &burns.0, 1e-5);
            assert_close(&format!("{case}: x gradient"), &ours.1, &burns.1, 1e-4);
            for (k, (a, w)) in ours.2.iter().zip(&burns.2).enumerate() {
                assert_close(&format!("{case}: parameter {k} gradient"), a, w, 1e-4);
            }
        }
    }

    #[test]
    fn outputs_and_gradients_match_burns_bilstm() {
        check_against_burn(3, 4, 2, 5);
        // More than one chunk with a partial last one; a single time step; wide input.
        check_against_burn(19, 3, 6, 4);
        check_against_burn(2, 1, 3, 3);
        check_against_burn(4, 6, 17, 8);
    }

    #[test]
    fn input_gradient_matches_finite_differences() {
        let device = Device::flex().autodiff();
        let (x, layer) = setup(2, 3, 2, 3, &device);
        let mix = Tensor::<3>::from_data(TensorData::new(noise(2 * 3 * 6, 17), [2, 3, 6]), &device);
        let loss_of = |x: Tensor<3>| (bilstm_sequence(x, &layer) * mix.clone()).sum();
        assert_gradient_matches_finite_differences(&x, 1e-2, 2e-3, loss_of);
    }

    #[test]
    fn results_do_not_depend_on_the_thread_count() {
        let device = Device::flex().autodiff();
        let (x, layer) = setup(37, 5, 4, 6, &device);
        let on = |threads: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| run(&x, &layer, false, true))
        };
        assert_eq!(on(1), on(3));
    }

    #[test]
    fn runs_without_autodiff_as_in_inference() {
        let device = Device::flex();
        let (x, layer) = setup(5, 4, 3, 4, &device);
        let ours = vec_of(bilstm_sequence(x.clone(), &layer));
        assert_close("inference", &ours, &vec_of(layer.forward(x, None).0), 1e-5);
    }
}
