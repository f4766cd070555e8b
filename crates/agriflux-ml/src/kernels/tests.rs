//! Gradient checks of the custom kernels against burn's own layers and finite differences.

use super::*;
use burn::module::Param;
use burn::nn::conv::Conv2dConfig;
use burn::nn::pool::MaxPool2dConfig;
use burn::nn::{BatchNormConfig, PaddingConfig2d};
use burn::tensor::{Device, TensorData};

use crate::test_support::{
    assert_close, assert_gradient_matches_finite_differences, noise, vec_of,
};

/// Input, loss weights and a burn convolution for a check on `device`.
fn setup(shape: [usize; 4], out_channels: usize, device: &Device) -> (Tensor<4>, Conv2d) {
    let [b, c, h, w] = shape;
    let x = Tensor::from_data(TensorData::new(noise(b * c * h * w, 1), shape), device);
    // burn's generator is process-wide: hold the trainers' lock so concurrent tests that
    // check same-seed reproducibility are not disturbed.
    let _rng = crate::training::lock_rng(&crate::CancelToken::new()).unwrap();
    device.seed(7);
    let conv = Conv2dConfig::new([c, out_channels], [3, 3])
        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
        .init(device);
    (x, conv)
}

/// Conv, then pool, then a weighted sum: the gradients of x, weight and bias of the custom
/// kernels against burn's own Conv2d and MaxPool2d.
fn check_against_burn(shape: [usize; 4], out_channels: usize) {
    let device = Device::flex().autodiff();
    let (x, conv) = setup(shape, out_channels, &device);
    let pool = MaxPool2dConfig::new([2, 2]).init();
    let [b, _, h, w] = shape;
    let pooled = b * out_channels * (h / 2) * (w / 2);
    let mix = Tensor::<4>::from_data(
        TensorData::new(noise(pooled, 3), [b, out_channels, h / 2, w / 2]),
        &device,
    );

    let run = |custom: bool| {
        let x = x.clone().detach().require_grad();
        let y = if custom {
            max_pool2x2(conv3x3(x.clone(), &conv))
        } else {
            pool.forward(conv.forward(x.clone()))
        };
        let conv_out = if custom {
            conv3x3(x.clone(), &conv)
        } else {
            conv.forward(x.clone())
        };
        let loss = (y.clone() * mix.clone()).sum();
        let grads = loss.backward();
        let gx = x.grad(&grads).expect("x gradient");
        let gw = conv.weight.val().grad(&grads).expect("weight gradient");
        let gb = conv
            .bias
            .as_ref()
            .unwrap()
            .val()
            .grad(&grads)
            .expect("bias gradient");
        (
            vec_of(conv_out),
            vec_of(y),
            vec_of(gx),
            vec_of(gw),
            vec_of(gb),
        )
    };
    let ours = run(true);
    let burns = run(false);
    assert_close("conv output", &ours.0, &burns.0, 1e-5);
    assert_close("pooled output", &ours.1, &burns.1, 1e-5);
    assert_close("x gradient", &ours.2, &burns.2, 1e-4);
    assert_close("weight gradient", &ours.3, &burns.3, 1e-4);
    assert_close("bias gradient", &ours.4, &burns.4, 1e-4);
}

#[test]
fn conv_and_pool_gradients_match_burns_layers() {
    check_against_burn([2, 3, 6, 8], 4);
    // Odd sizes (the pool drops the last row and column), one sample, more chunks than
    // one for the weight gradient.
    check_against_burn([1, 2, 7, 5], 3);
    check_against_burn([9, 4, 4, 4], 5);
}

#[test]
fn conv_gradient_matches_finite_differences() {
    // d(sum(mix * conv(x))) / d(x[j]) and / d(w[j]) against central differences in f64-ish
    // precision (small sizes, step 1e-2 on a loss linear in each variable).
    let device = Device::flex().autodiff();
    let (x, conv) = setup([1, 2, 4, 5], 3, &device);
    let mix = Tensor::<4>::from_data(TensorData::new(noise(3 * 4 * 5, 5), [1, 3, 4, 5]), &device);
    let loss_of = |x: Tensor<4>| (conv3x3(x, &conv) * mix.clone()).sum();
    assert_gradient_matches_finite_differences(&x, 1e-2, 2e-3, loss_of);
}

#[test]
fn kernels_are_deterministic_and_run_without_autodiff() {
    let device = Device::flex();
    let (x, conv) = setup([5, 3, 8, 8], 6, &device);
    let a = vec_of(max_pool2x2(conv3x3(x.clone(), &conv)));
    let b = vec_of(max_pool2x2(conv3x3(x.clone(), &conv)));
    assert_eq!(a, b);
    let pool = MaxPool2dConfig::new([2, 2]).init();
    assert_close(
        "inference",
        &a,
        &vec_of(pool.forward(conv.forward(x))),
        1e-5,
    );
}

/// An input with a different mean and spread per channel, as convolution outputs have.
fn bn_input(shape: [usize; 4], seed: u64, device: &Device) -> Tensor<4> {
    let [_, c, h, w] = shape;
    let values = noise(shape.iter().product(), seed)
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            let ch = (i / (h * w)) % c;
            v * (0.5 + ch as f32) + ch as f32 - 1.0
        })
        .collect::<Vec<_>>();
    Tensor::from_data(TensorData::new(values, shape), device)
}

/// A batch norm whose gamma (some negative) and beta make the ReLU cut varying fractions.
fn batch_norm_layer(c: usize, device: &Device) -> BatchNorm {
    let param = |seed, offset: f32| {
        let v = noise(c, seed).into_iter().map(|v| v + offset).collect();
        Param::from_tensor(Tensor::<1>::from_data(TensorData::new(v, [c]), device))
    };
    BatchNorm {
        gamma: param(11, 0.6),
        beta: param(12, 0.1),
        ..BatchNormConfig::new(c).init(device)
    }
}

/// Output and gradients of x, gamma and beta of `sum(mix * f(x))`, `f` our fused operation or
/// burn's `relu(bn.forward(x))`.
fn bn_relu_run(x: &Tensor<4>, bn: &BatchNorm, mix: &Tensor<4>, custom: bool) -> [Vec<f32>; 4] {
    let x = x.clone().detach().require_grad();
    let y = if custom {
        batch_norm_relu(x.clone(), bn)
    } else {
        burn::tensor::activation::relu(bn.forward(x.clone()))
    };
    let grads = (y.clone() * mix.clone()).sum().backward();
    let gx = x.grad(&grads).expect("x gradient");
    let gg = bn.gamma.val().grad(&grads).expect("gamma gradient");
    let gb = bn.beta.val().grad(&grads).expect("beta gradient");
    [vec_of(y), vec_of(gx), vec_of(gg), vec_of(gb)]
}

#[test]
fn fused_batch_norm_relu_matches_burns_batch_norm_then_relu_in_training() {
    let device = Device::flex().autodiff();
    for shape in [[2, 3, 5, 7], [3, 4, 6, 6], [9, 5, 4, 3], [2, 2, 1, 1]] {
        let x = bn_input(shape, 21, &device);
        let mix = Tensor::<4>::from_data(
            TensorData::new(noise(x.shape().num_elements(), 22), shape),
            &device,
        );
        let ours = bn_relu_run(&x, &batch_norm_layer(shape[1], &device), &mix, true);
        let burns = bn_relu_run(&x, &batch_norm_layer(shape[1], &device), &mix, false);
        for (what, i) in [
            ("output", 0),
            ("x gradient", 1),
            ("gamma gradient", 2),
            ("beta gradient", 3),
        ] {
            assert_close(&format!("{what} {shape:?}"), &ours[i], &burns[i], 1e-4);
        }
    }
}

#[test]
fn training_forward_updates_running_statistics_as_burns_batch_norm_does() {
    let device = Device::flex().autodiff();
    let shape = [4, 3, 5, 6];
    let (ours, burns) = (batch_norm_layer(3, &device), batch_norm_layer(3, &device));
    // Two steps, so the second starts from running statistics that are not the initial ones.
    for seed in [31, 32] {
        let x = bn_input(shape, seed, &device);
        let _ = batch_norm_relu(x.clone(), &ours);
        let _ = burns.forward(x);
        assert_close(
            "running mean",
            &vec_of(ours.running_mean.value_sync()),
            &vec_of(burns.running_mean.value_sync()),
            1e-6,
        );
        assert_close(
            "running variance",
            &vec_of(ours.running_var.value_sync()),
            &vec_of(burns.running_var.value_sync()),
            1e-6,
        );
    }
}

#[test]
fn evaluation_mode_normalises_with_the_running_statistics_like_burn() {
    let c = 4;
    for device in [Device::flex(), Device::flex().autodiff()] {
        let stat = |seed, offset: f32| {
            let v = noise(c, seed).into_iter().map(|v| v + offset).collect();
            RunningState::new(Tensor::<1>::from_data(TensorData::new(v, [c]), &device))
        };
        // On the autodiff device only a frozen layer normalises with the running statistics.
        let bn = BatchNorm {
            running_mean: stat(41, 0.5),
            running_var: stat(42, 1.5),
            training: Param::from_bool(!device.is_autodiff()),
            ..batch_norm_layer(c, &device)
        };
        let x = bn_input([3, c, 5, 4], 43, &device);
        assert_close(
            "evaluation output",
            &vec_of(batch_norm_relu(x.clone(), &bn)),
            &vec_of(burn::tensor::activation::relu(bn.forward(x))),
            1e-5,
        );
    }
}

#[test]
fn fused_batch_norm_relu_input_gradient_matches_finite_differences() {
    let device = Device::flex().autodiff();
    let shape = [2, 2, 3, 3];
    let bn = batch_norm_layer(2, &device);
    let x = bn_input(shape, 51, &device);
    let mix = Tensor::<4>::from_data(TensorData::new(noise(36, 52), shape), &device);
    let loss_of = |x: Tensor<4>| (batch_norm_relu(x, &bn) * mix.clone()).sum();
    assert_gradient_matches_finite_differences(&x, 1e-3, 2e-3, loss_of);
}

#[test]
fn fused_batch_norm_relu_is_bit_for_bit_the_same_whatever_the_thread_count() {
    let device = Device::flex().autodiff();
    let shape = [6, 5, 9, 9];
    let x = bn_input(shape, 61, &device);
    let mix = Tensor::<4>::from_data(
        TensorData::new(noise(x.shape().num_elements(), 62), shape),
        &device,
    );
    let run = |threads| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| bn_relu_run(&x, &batch_norm_layer(5, &device), &mix, true))
    };
    let bits = |r: [Vec<f32>; 4]| r.map(|v| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>());
    let reference = bits(run(1));
    assert_eq!(bits(run(1)), reference, "same thread count");
    assert_eq!(bits(run(3)), reference, "three threads");
}
