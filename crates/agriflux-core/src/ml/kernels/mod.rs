//! The CNN's hot operations as custom operations on burn's `flex` CPU backend, each with a
//! hand-written backward pass: the 3 × 3 convolution (padding 1, stride 1, with bias) and the
//! 2 × 2 max pooling (stride 2).
//!
//! Why: profiling the training step showed flex's convolution (im2col loops, and a weight
//! gradient computed as a convolution whose kernel is the whole output gradient, a badly shaped
//! matrix product), and its generic 3-D max pooling with indices, taking most of the time, all
//! on one core. Here the convolution is an im2col + `gemm` per sample, the weight gradient one
//! well-shaped product per sample, and both run over the batch on all cores.
//!
//! Determinism: every output value is computed by one thread in a fixed order, and the weight
//! and bias gradients are summed per fixed chunk of samples, then over the chunks in order.
//! Results do not depend on the number of threads or on scheduling, so the pipeline's
//! same-seed-same-result guarantee holds.
//!
//! Modules, parameters, optimiser and saving stay burn's: [`conv3x3`] reads the weights of a
//! `burn::nn::conv::Conv2d`, and the operations plug into burn's autodiff through its
//! backend-extension mechanism.

use burn::backend::autodiff::Autodiff;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Dispatch, Flex, backend_extension};
use burn::nn::conv::Conv2d;
use burn::tensor::{Tensor, TensorData};

mod conv;
mod pool;

use conv::{conv_backward, conv_forward};
use pool::{pool_backward, pool_forward};

/// Custom CNN operations (NCHW, f32).
#[backend_extension(Flex, Autodiff)]
pub trait CnnKernels: Backend {
    /// 3 × 3 convolution, padding 1, stride 1: `x` `[B, C, H, W]`, `weight` `[O, C, 3, 3]`,
    /// `bias` `[O]`, output `[B, O, H, W]`.
    fn conv3x3(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
    ) -> FloatTensor<Self>;
    /// 2 × 2 max pooling, stride 2 (a trailing odd row or column is dropped): `[B, C, H, W]`
    /// to `[B, C, H / 2, W / 2]`.
    fn max_pool2x2(x: FloatTensor<Self>) -> FloatTensor<Self>;
}

impl CnnKernels for Flex {
    fn conv3x3(x: FlexTensor, weight: FlexTensor, bias: FlexTensor) -> FlexTensor {
        conv_forward(&x, &weight, &bias)
    }

    fn max_pool2x2(x: FlexTensor) -> FlexTensor {
        pool_forward(&x)
    }
}

impl<C: CheckpointStrategy> CnnKernels for Autodiff<Flex, C> {
    fn conv3x3(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct Conv3x3Backward;

        impl Backward<Flex, 3> for Conv3x3Backward {
            /// The input and the weights.
            type State = (FlexTensor, FlexTensor);

            fn backward(
                self,
                ops: Ops<Self::State, 3>,
                grads: &mut Gradients,
                _checkpointer: &mut Checkpointer,
            ) {
                let [node_x, node_w, node_b] = ops.parents;
                let grad = grads.consume::<Flex>(&ops.node);
                let (x, weight) = ops.state;
                let need_params = node_w.is_some() || node_b.is_some();
                let (gx, gw, gb) = conv_backward(&x, &weight, &grad, node_x.is_some(), need_params);
                if let (Some(node), Some(g)) = (node_x, gx) {
                    grads.register::<Flex>(node.id, g);
                }
                if let (Some(node), Some(g)) = (node_w, gw) {
                    grads.register::<Flex>(node.id, g);
                }
                if let (Some(node), Some(g)) = (node_b, gb) {
                    grads.register::<Flex>(node.id, g);
                }
            }
        }

        match Conv3x3Backward
            .prepare::<C>([x.node(), weight.node(), bias.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (xp, wp) = (x.primitive().clone(), weight.primitive().clone());
                let out = conv_forward(&xp, &wp, bias.primitive());
                prep.finish((xp, wp), out)
            }
            OpsKind::UnTracked(prep) => prep.finish(conv_forward(
                x.primitive(),
                weight.primitive(),
                bias.primitive(),
            )),
        }
    }

    fn max_pool2x2(x: FloatTensor<Self>) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct MaxPoolBackward;

        impl Backward<Flex, 1> for MaxPoolBackward {
            /// The input (the maxima are found again).
            type State = FlexTensor;

            fn backward(
                self,
                ops: Ops<Self::State, 1>,
                grads: &mut Gradients,
                _checkpointer: &mut Checkpointer,
            ) {
                let [node_x] = ops.parents;
                let grad = grads.consume::<Flex>(&ops.node);
                if let Some(node) = node_x {
                    grads.register::<Flex>(node.id, pool_backward(&ops.state, &grad));
                }
            }
        }

        match MaxPoolBackward
            .prepare::<C>([x.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let xp = x.primitive().clone();
                let out = pool_forward(&xp);
                prep.finish(xp, out)
            }
            OpsKind::UnTracked(prep) => prep.finish(pool_forward(x.primitive())),
        }
    }
}

/// [`CnnKernels::conv3x3`] with the weights and bias of `conv` (a 3 × 3, padding 1, stride 1
/// `Conv2d` with bias, as the CNN builds them).
pub(crate) fn conv3x3(x: Tensor<4>, conv: &Conv2d) -> Tensor<4> {
    let weight = conv.weight.val();
    let bias = conv
        .bias
        .as_ref()
        .expect("the CNN's convolutions have a bias")
        .val();
    Tensor::from_dispatch(<Dispatch as CnnKernels>::conv3x3(
        x.into_dispatch(),
        weight.into_dispatch(),
        bias.into_dispatch(),
    ))
}

/// [`CnnKernels::max_pool2x2`] on a tensor.
pub(crate) fn max_pool2x2(x: Tensor<4>) -> Tensor<4> {
    Tensor::from_dispatch(<Dispatch as CnnKernels>::max_pool2x2(x.into_dispatch()))
}

/// A contiguous, offset-free view of `t` (a cheap clone when it already is one).
fn dense(t: &FlexTensor) -> FlexTensor {
    if t.is_contiguous() && t.layout().start_offset() == 0 {
        t.clone()
    } else {
        t.to_contiguous()
    }
}

/// The shape of a 4-D tensor.
fn dims4(t: &FlexTensor) -> [usize; 4] {
    let s = t.layout().shape();
    assert_eq!(s.num_dims(), 4, "expected a 4-D tensor, got {s:?}");
    [s[0], s[1], s[2], s[3]]
}

/// The f32 values of a dense tensor of `len` values.
fn values(t: &FlexTensor, len: usize) -> &[f32] {
    &t.storage::<f32>()[..len]
}

/// A new flex tensor.
fn tensor(values: Vec<f32>, shape: &[usize]) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape.to_vec()))
}

#[cfg(test)]
mod tests;
