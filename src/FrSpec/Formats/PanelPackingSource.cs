using FrSpec.Numerics;

namespace FrSpec.Formats;

/// <summary>
/// Hands out a source's matrices with the bf16 ones repacked in place into panels for the generated vdpbf16ps kernels
/// (<see cref="Bf16Panels"/>). Only for sources whose matrices are writable copies (huge-page arenas, owned memory), so
/// the repacked matrix replaces the copy and the weights stay in one copy; shapes that would need padding stay row-major
/// (every kernel reads both layouts).
/// </summary>
internal sealed class PanelPackingSource(ITensorSource source) : ITensorSource
{
    public IEnumerable<string> Names => source.Names;
    public bool Contains(string name) => source.Contains(name);
    public float[] Vector(string name, int length) => source.Vector(name, length);

    public WeightMatrix Matrix(string name, int rows, int cols)
    {
        var m = source.Matrix(name, rows, cols);
        if (m.CanPackPanelsInPlace) m.PackPanelsInPlace();
        return m;
    }

    /// <summary><paramref name="source"/> itself, or wrapped when <paramref name="compute"/> runs on panels and the
    /// source's matrices are writable copies.</summary>
    public static ITensorSource For(ITensorSource source, Compute compute, bool writableCopies) =>
        compute.PacksBf16Weights && writableCopies ? new PanelPackingSource(source) : source;
}
