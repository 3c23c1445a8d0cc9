using System.Runtime.InteropServices;

namespace FrSpec.Numerics.CodeGen;

/// <summary>
/// Arguments of a generated dot-product kernel: R weight rows (stride <see cref="WStride"/>) against M activation rows
/// (stride <see cref="XStride"/>), K elements each; result [i, r] goes to Y + i·YStride + 4·r. The field offsets are
/// part of the generated code (<see cref="Offsets"/>).
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal struct DotArgs
{
    public nint W;
    public long WStride;
    public nint X;
    public long XStride;
    public nint Y;
    public long YStride;
    public long K;
    /// <summary>Weight rows a row-looping kernel (GEMV) walks through; tile kernels have R fixed.</summary>
    public long Rows;
    /// <summary>Per-row or per-block scales, where the kernel family has them (int8: see Int8DotKernels).</summary>
    public nint WScales;
    public nint XScales;
    /// <summary>Tile kernels prefetch [weight row + this] alongside each step (the next tile's rows); 0 = the current rows.</summary>
    public long Prefetch;

    public static class Offsets
    {
        public const int W = 0, WStride = 8, X = 16, XStride = 24, Y = 32, YStride = 40, K = 48, Rows = 56, WScales = 64, XScales = 72, Prefetch = 80;
    }
}
