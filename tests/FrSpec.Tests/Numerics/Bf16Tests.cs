using FrSpec.Numerics;

namespace FrSpec.Tests.Numerics;

/// <summary>The vector roundings to bf16 against <see cref="Bf16.FromFloat"/>, the scalar definition, bit for bit.</summary>
public class Bf16Tests
{
    private static readonly float[] Specials = [0f, -0f, float.NaN, -float.NaN, float.PositiveInfinity, float.NegativeInfinity, 1e-40f, -3e-39f,
        float.MaxValue, -float.MaxValue, BitConverter.Int32BitsToSingle(0x3F808000), BitConverter.Int32BitsToSingle(0x3F818000),
        BitConverter.Int32BitsToSingle(0x7F7FFFFF), BitConverter.Int32BitsToSingle(unchecked((int)0xBF808000)),
        BitConverter.Int32BitsToSingle(0x7F800001), BitConverter.Int32BitsToSingle(unchecked((int)0xFFC12345))];

    /// <summary>Random bits of either sign, a third of them special values: ties to even, NaNs (quiet and signalling),
    /// infinities, subnormals, overflow to infinity.</summary>
    private static float[] Values(Random r, int n)
    {
        var x = new float[n];
        for (int i = 0; i < n; i++) x[i] = r.Next(3) == 0 ? Specials[r.Next(Specials.Length)] : BitConverter.Int32BitsToSingle(r.Next() | r.Next(2) << 31);
        return x;
    }

    /// <summary>Guard elements after the n written ones: more than a whole vector of either width, so that any store past
    /// the end shows.</summary>
    private const int Guard = 17;

    /// <summary>The rounding of x·factor (attention's queries and probabilities, the bf16 cache's stores) has the bits of
    /// FromFloat of the same product on every lane and tail, and writes nothing past n.</summary>
    [Fact]
    public unsafe void RoundingTheProductToBf16IsFromFloatOfTheProduct()
    {
        var r = new Random(9);
        foreach (float factor in new[] { 1f, 0.125f, 1f / 3, 7.5f, -2f })
            for (int n = 0; n <= 50; n++)
            {
                var x = Values(r, n);
                var got = new ushort[n + Guard];
                fixed (float* px = x) fixed (ushort* pg = got) Bf16.FromScaledFloats(px, factor, pg, n);
                for (int i = 0; i < n; i++) Assert.True(Bf16.FromFloat(x[i] * factor) == got[i], $"factor {factor} n {n} element {i}: {x[i]}");
                for (int i = n; i < got.Length; i++) Assert.True(got[i] == 0, $"factor {factor} n {n}: element {i} written past the end");
            }
    }

    /// <summary>The span rounding (the fast precision's activations, the bf16 cache's stores) has FromFloat's bits on
    /// every lane and tail and writes nothing past the source's length.</summary>
    [Fact]
    public void FromFloatsIsFromFloatOfEachElement() =>
        EveryLength(10, (x, got) => Bf16.FromFloats(x, got), x => Bf16.FromFloat(x));

    /// <summary>Rounding through bf16 and back (the fast precision's activations on fp32 kernels) is ToFloat(FromFloat(x))
    /// to the bit on every lane and tail, and writes nothing past the source's length.</summary>
    [Fact]
    public void RoundIsFromFloatThenToFloat() =>
        EveryLength(12, (x, got) => Bf16.Round(x, got), x => Bf16.ToFloat(Bf16.FromFloat(x)));

    /// <summary>For lengths 0–50: <paramref name="run"/> writes <paramref name="expected"/> of each element, bit for bit,
    /// and leaves the guard past the end at zero.</summary>
    private static void EveryLength<T>(int seed, Action<float[], T[]> run, Func<float, T> expected) where T : unmanaged
    {
        var r = new Random(seed);
        for (int n = 0; n <= 50; n++)
        {
            var x = Values(r, n);
            var got = new T[n + Guard];
            run(x, got);
            for (int i = 0; i < n; i++) Assert.True(Bits(expected(x[i])) == Bits(got[i]), $"n {n} element {i}: {x[i]}");
            for (int i = n; i < got.Length; i++) Assert.True(Bits(got[i]) == 0, $"n {n}: element {i} written past the end");
        }
    }

    /// <summary>The value's bits (a NaN compares by its payload, not as unequal to itself).</summary>
    private static unsafe long Bits<T>(T value) where T : unmanaged =>
        sizeof(T) == 2 ? *(ushort*)&value : *(uint*)&value;
}
