//! Contiguous `f32` views of flex tensors, the form every kernel reads and writes.

use burn::backend::flex::FlexTensor;
use burn::tensor::TensorData;

/// A contiguous, offset-free view of `t` (a cheap clone when it already is one).
pub(crate) fn dense(t: &FlexTensor) -> FlexTensor {
    if t.is_contiguous() && t.layout().start_offset() == 0 {
        t.clone()
    } else {
        t.to_contiguous()
    }
}

/// The shape of a 4-D tensor.
pub(super) fn dims4(t: &FlexTensor) -> [usize; 4] {
    let s = t.layout().shape();
    assert_eq!(s.num_dims(), 4, "expected a 4-D tensor, got {s:?}");
    [s[0], s[1], s[2], s[3]]
}

/// The f32 values of a dense tensor of `len` values.
pub(crate) fn values(t: &FlexTensor, len: usize) -> &[f32] {
    &t.storage::<f32>()[..len]
}

/// A new flex tensor.
pub(crate) fn tensor(values: Vec<f32>, shape: &[usize]) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape.to_vec()))
}
