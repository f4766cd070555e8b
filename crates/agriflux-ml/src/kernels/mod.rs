//! The CNN's hot operations as custom operations on burn's `flex` CPU backend, each with a
//! hand-written backward pass: the 3 × 3 convolution (padding 1, stride 1, with bias), batch
//! normalisation fused with the ReLU after it, and the 2 × 2 max pooling (stride 2).
//!
//! Why: profiling the training step showed flex's convolution (im2col loops, and a weight
//! gradient computed as a convolution whose kernel is the whole output gradient, a badly shaped
//! matrix product), and its generic 3-D max pooling with indices, taking most of the time, all
//! on one core. Here the convolution is an im2col + `gemm` per sample, the weight gradient one
//! well-shaped product per sample, and both run over the batch on all cores. With those fixed,
//! batch norm + ReLU (a dozen single-threaded element-wise passes each way) came next: see
//! [`batch_norm`].
//!
//! Determinism: every output value is computed by one thread in a fixed order, and every sum
//! (weight and bias gradients per fixed chunk of samples then over the chunks in order, batch
//! statistics per channel in sample order) has a fixed order. Results do not depend on the
//! number of threads or on scheduling, so the pipeline's same-seed-same-result guarantee holds.
//!
//! Modules, parameters, optimiser and saving stay burn's: [`conv3x3`] reads the weights of a
//! `burn::nn::conv::Conv2d`, [`batch_norm_relu`] the parameters and running statistics of a
//! `burn::nn::BatchNorm`, and the operations plug into burn's autodiff through its
//! backend-extension mechanism.

use burn::backend::autodiff::Autodiff;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::ops::{ActivationOps, ModuleOps};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Dispatch, Flex, backend_extension};
use burn::module::RunningState;
use burn::nn::BatchNorm;
use burn::nn::conv::Conv2d;
use burn::tensor::Tensor;

mod batch_norm;
mod conv;
mod flex_tensor;
mod pool;

pub(crate) use conv::{Operand, matmul};
use conv::{conv_backward, conv_forward};
pub(crate) use flex_tensor::{dense, tensor, values};
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
    /// Batch normalisation with the batch's own statistics, then ReLU: `x` `[B, C, H, W]`,
    /// `gamma` and `beta` `[C]`. Returns the output and the batch mean and biased variance `[C]`
    /// (what burn's `BatchNorm` feeds its running statistics; not differentiated).
    #[allow(clippy::type_complexity)]
    fn batch_norm_relu_train(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);
    /// Batch normalisation with given statistics (a module's running ones), then ReLU.
    fn batch_norm_relu_eval(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        variance: FloatTensor<Self>,
        epsilon: f64,
    ) -> FloatTensor<Self>;
}

impl CnnKernels for Flex {
    fn conv3x3(x: FlexTensor, weight: FlexTensor, bias: FlexTensor) -> FlexTensor {
        conv_forward(&x, &weight, &bias)
    }

    fn max_pool2x2(x: FlexTensor) -> FlexTensor {
        pool_forward(&x)
    }

    fn batch_norm_relu_train(
        x: FlexTensor,
        gamma: FlexTensor,
        beta: FlexTensor,
        epsilon: f64,
    ) -> (FlexTensor, FlexTensor, FlexTensor) {
        batch_norm::train_forward(&x, &gamma, &beta, epsilon)
    }

    fn batch_norm_relu_eval(
        x: FlexTensor,
        gamma: FlexTensor,
        beta: FlexTensor,
        mean: FlexTensor,
        variance: FlexTensor,
        epsilon: f64,
    ) -> FlexTensor {
        batch_norm::eval_forward(x, &gamma, &beta, &mean, &variance, epsilon)
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

    fn batch_norm_relu_train(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        #[derive(Debug)]
        struct BatchNormReluBackward;

        impl Backward<Flex, 3> for BatchNormReluBackward {
            /// The input, gamma, beta, the batch mean and variance, and epsilon: the backward
            /// recomputes the forward's normalisation (and so its ReLU mask) bit for bit.
            type State = (
                FlexTensor,
                FlexTensor,
                FlexTensor,
                FlexTensor,
                FlexTensor,
                f64,
            );

            fn backward(
                self,
                ops: Ops<Self::State, 3>,
                grads: &mut Gradients,
                _checkpointer: &mut Checkpointer,
            ) {
                let [node_x, node_gamma, node_beta] = ops.parents;
                let grad = grads.consume::<Flex>(&ops.node);
                let (x, gamma, beta, mean, variance, epsilon) = ops.state;
                let layer = batch_norm::SavedLayer {
                    gamma: &gamma,
                    beta: &beta,
                    mean: &mean,
                    variance: &variance,
                    epsilon,
                };
                let (gx, gg, gb) = batch_norm::train_backward(&x, &layer, &grad, node_x.is_some());
                if let (Some(node), Some(g)) = (node_x, gx) {
                    grads.register::<Flex>(node.id, g);
                }
                if let Some(node) = node_gamma {
                    grads.register::<Flex>(node.id, gg);
                }
                if let Some(node) = node_beta {
                    grads.register::<Flex>(node.id, gb);
                }
            }
        }

        let (xp, gp, bp) = (
            x.primitive().clone(),
            gamma.primitive().clone(),
            beta.primitive().clone(),
        );
        let (out, mean, variance) = batch_norm::train_forward(&xp, &gp, &bp, epsilon);
        let out = match BatchNormReluBackward
            .prepare::<C>([x.node(), gamma.node(), beta.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                prep.finish((xp, gp, bp, mean.clone(), variance.clone(), epsilon), out)
            }
            OpsKind::UnTracked(prep) => prep.finish(out),
        };
        // The statistics only feed the running ones, which burn detaches: untracked leaves.
        (
            out,
            FloatTensor::<Self>::new(mean),
            FloatTensor::<Self>::new(variance),
        )
    }

    fn batch_norm_relu_eval(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        variance: FloatTensor<Self>,
        epsilon: f64,
    ) -> FloatTensor<Self> {
        // Only a frozen batch norm on an autodiff device gets here (training mode takes the
        // other operation), which the CNN never does: burn's own differentiable composition.
        Self::relu(Self::batch_norm(x, gamma, beta, mean, variance, epsilon))
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

/// `relu(bn.forward(x))` as one fused operation, with burn's `BatchNorm` semantics: on an
/// autodiff device and unless the layer is frozen, the batch's statistics, and the module's
/// running statistics updated exactly as burn updates them; otherwise the running statistics.
pub(crate) fn batch_norm_relu(x: Tensor<4>, bn: &BatchNorm) -> Tensor<4> {
    let device = x.device();
    let (gamma, beta) = (
        bn.gamma.val().into_dispatch(),
        bn.beta.val().into_dispatch(),
    );
    if device.is_autodiff() && bn.training.is_enabled() {
        let (out, mean, variance) = <Dispatch as CnnKernels>::batch_norm_relu_train(
            x.into_dispatch(),
            gamma,
            beta,
            bn.epsilon,
        );
        // burn's `BatchNorm::forward_train`, operation for operation, so the running
        // statistics (saved with the model, used for inference) are the same.
        let momentum = bn.momentum;
        let update = |running: &RunningState<Tensor<1>>, batch: Tensor<1>| {
            let value = running
                .value_sync()
                .to_device(&device)
                .mul_scalar(1.0 - momentum)
                .add(batch.detach().mul_scalar(momentum));
            running.update(value.detach());
        };
        update(&bn.running_mean, Tensor::from_dispatch(mean));
        update(&bn.running_var, Tensor::from_dispatch(variance));
        Tensor::from_dispatch(out)
    } else {
        let mean = bn.running_mean.value().to_device(&device);
        let variance = bn.running_var.value().to_device(&device);
        Tensor::from_dispatch(<Dispatch as CnnKernels>::batch_norm_relu_eval(
            x.into_dispatch(),
            gamma,
            beta,
            mean.into_dispatch(),
            variance.into_dispatch(),
            bn.epsilon,
        ))
    }
}

/// [`CnnKernels::max_pool2x2`] on a tensor.
pub(crate) fn max_pool2x2(x: Tensor<4>) -> Tensor<4> {
    Tensor::from_dispatch(<Dispatch as CnnKernels>::max_pool2x2(x.into_dispatch()))
}

#[cfg(test)]
mod tests;
