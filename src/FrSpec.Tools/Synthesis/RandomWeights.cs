namespace FrSpec.Synthesis;

/// <summary>
/// Seeded Gaussian weights. Each tensor's stream depends only on (seed, tensor name, chunk), so output is identical
/// whatever the order or thread count, and large tensors fill in parallel.
/// </summary>
public static class RandomWeights
{
    private const int Chunk = 1 << 16;

    public static float[] Normal(ulong seed, string name, long count, float mean, float std)
    {
        var a = new float[count];
        ulong baseSeed = seed ^ Fnv1a(name);
        int chunks = (int)((count + Chunk - 1) / Chunk);
        Parallel.For(0, chunks, c =>
        {
            var rng = new Generation.Rng(baseSeed + (ulong)c * 0x9E3779B97F4A7C15UL);
            long start = (long)c * Chunk, end = Math.Min(count, start + Chunk);
            for (long i = start; i < end; i += 2)
            {
                // Box-Muller
                double u1 = 1.0 - rng.NextDouble(), u2 = rng.NextDouble();
                double r = Math.Sqrt(-2.0 * Math.Log(u1));
                a[i] = mean + std * (float)(r * Math.Cos(2 * Math.PI * u2));
                if (i + 1 < end) a[i + 1] = mean + std * (float)(r * Math.Sin(2 * Math.PI * u2));
            }
        });
        return a;
    }

    /// <summary>A tensor of N(mean, std²) values named <paramref name="name"/>, drawn from the stream of <paramref name="stream"/>, produced when written.</summary>
    public static Formats.TensorBlob Tensor(ulong seed, string name, string stream, long[] shape, float mean, float std, Numerics.DType dtype) =>
        new(name, Formats.TensorBlob.SafetensorsName(dtype), shape,
            () => Numerics.Convert.ToBytes(Normal(seed, stream, shape.Aggregate(1L, (a, b) => a * b), mean, std), dtype));

    public static ulong Fnv1a(string s)
    {
        ulong h = 14695981039346656037UL;
        foreach (char ch in s) { h ^= ch; h *= 1099511628211UL; }
        return h;
    }
}
