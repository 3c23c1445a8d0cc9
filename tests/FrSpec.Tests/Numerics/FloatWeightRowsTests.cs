using System.Runtime.Intrinsics;
using FrSpec.Numerics;

namespace FrSpec.Tests.Numerics;

/// <summary>f16 weights read in place (<see cref="F16Row"/>): the widening is exact for every finite half, and products
/// give the bits of the same weights stored as f32 (the convert-then-multiply path they replaced), also for a matrix
/// with an infinity or NaN (which takes that path).</summary>
public unsafe class FloatWeightRowsTests
{
    [Theory]
    [InlineData(Isa.Avx2)]
    [InlineData(Isa.Avx512)]
    public void WidenF16IsExactForEveryFiniteHalf(Isa isa)
    {
        if (!MatMul.IsSupported(isa)) return;
        var halves = new ushort[65536];
        for (int i = 0; i < halves.Length; i++) halves[i] = (ushort)i;
        var widened = new float[halves.Length];
        fixed (ushort* h = halves)
        fixed (float* f = widened)
        {
            if (isa == Isa.Avx512)
                for (int i = 0; i < halves.Length; i += 16) Lanes512.WidenF16(h + i).Store(f + i);
            else
                for (int i = 0; i < halves.Length; i += 8) Lanes256.WidenF16(h + i).Store(f + i);
        }
        for (int i = 0; i < halves.Length; i++)
        {
            float expected = (float)BitConverter.UInt16BitsToHalf((ushort)i);
            if (float.IsFinite(expected)) Assert.True(BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(widened[i]), $"half 0x{i:X4}: {widened[i]} vs {expected}");
        }
    }

    [Theory]
    [InlineData(Isa.Avx2, Precision.Exact)]
    [InlineData(Isa.Avx2, Precision.Fast)]
    [InlineData(Isa.Avx512, Precision.Exact)]
    [InlineData(Isa.Avx512, Precision.Fast)]
    public void F16ProductsMatchTheSameWeightsInF32BitForBit(Isa isa, Precision precision)
    {
        if (!MatMul.IsSupported(isa)) return;
        var compute = Compute.Create(EngineOptions.Default with { Isa = isa, Precision = precision, CodeGeneration = false });
        var r = new Random(11);
        foreach (var (rows, cols, special) in new[] { (45, 200, 0f), (7, 33, 0f), (64, 2048, 0f), (3, 16, 0f), (9, 5, 0f), (45, 200, float.PositiveInfinity), (12, 40, float.NaN) })
        {
            // a spread of magnitudes, subnormal halves included
            var wf = Enumerable.Range(0, rows * cols).Select(_ => (float)((r.NextDouble() - 0.5) * Math.Pow(2, -r.Next(0, 20)))).ToArray();
            if (special != 0) wf[rows * cols / 2 + 3] = special;
            using var w16 = WeightMatrix.FromFloats(wf, rows, cols, DType.F16);
            using var w32 = WeightMatrix.FromFloats(w16.ToFloatArray(), rows, cols, DType.F32);
            var bias = Enumerable.Range(0, rows).Select(_ => (float)r.NextDouble()).ToArray();
            foreach (int n in new[] { 1, 2, 3, 4, 7, 12 }) // 12: large batches convert f16 tiles to f32 first
            {
                var x = Enumerable.Range(0, n * cols).Select(_ => (float)r.NextDouble() - 0.5f).ToArray();
                var y16 = new float[n * rows];
                var y32 = new float[n * rows];
                // the fast precision rounds activations to bf16 for f16 weights only: give the f32 product the same ones
                var x32 = precision == Precision.Fast ? x.Select(v => Bf16.ToFloat(Bf16.FromFloat(v))).ToArray() : x;
                MatMul.Multiply(compute, x, n, w16, y16, bias);
                MatMul.Multiply(compute, x32, n, w32, y32, bias);
                Assert.True(y32.AsSpan().SequenceEqual(y16), $"{isa} {precision} [{rows}, {cols}] {special} n={n}");
            }
        }
    }
}
