//! Running a hot loop compiled for the CPU's wider vector units when it has them.
//!
//! The crate is built for baseline x86-64 (two `f64` or four `f32` lanes) so the binaries run
//! anywhere; loops whose arithmetic the compiler vectorises get twice the lanes with AVX2. The
//! arithmetic is the same on either path (no fused multiply-add), so results are bit-identical.

/// Runs `work` compiled with AVX2 enabled when this CPU has it, else as built.
///
/// `work` should be a closure over `#[inline(always)]` code, so that it is compiled into the
/// AVX2 function rather than called from it.
#[inline(always)]
pub fn with_avx2_if_available<R>(work: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        #[target_feature(enable = "avx2")]
        fn avx2<R>(work: impl FnOnce() -> R) -> R {
            work()
        }
        // SAFETY: AVX2 was just detected on this CPU.
        return unsafe { avx2(work) };
    }
    work()
}
