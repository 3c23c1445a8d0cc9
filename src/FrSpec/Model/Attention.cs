using System.Numerics.Tensors;
using FrSpec.Numerics;

namespace FrSpec.Model;

/// <summary>
/// Masked multi-head attention of n new queries over the KV cache (grouped-query: several query heads share a
/// KV head). Parallel over (token, head) pairs.
/// </summary>
internal static class Attention
{
    [ThreadStatic] private static Job? t_job;

    public static void Compute(WorkerPool pool, float[] q, float[] output, int n, int heads, int kvHeads, int headDim, KvCache cache, int layer, AttentionMask mask)
    {
        var job = t_job ??= new Job();
        job.Q = q; job.Output = output; job.Heads = heads; job.Group = heads / kvHeads; job.HeadDim = headDim;
        job.Cache = cache; job.Layer = layer; job.Mask = mask;
        job.Scale = 1f / MathF.Sqrt(headDim);
        pool.For(n * heads, job, 1);
        job.Cache = null!; job.Mask = null!; job.Q = null!; job.Output = null!;
    }

    private sealed class Job : IRangeJob
    {
        public float[] Q = null!, Output = null!;
        public int Heads, Group, HeadDim, Layer;
        public float Scale;
        public KvCache Cache = null!;
        public AttentionMask Mask = null!;
        [ThreadStatic] private static float[]? t_scores;

        public void Execute(int start, int end)
        {
            int slots = Mask.TotalSlots;
            var scores = t_scores;
            if (scores == null || scores.Length < slots) t_scores = scores = new float[Math.Max(slots, 1024)];
            var keys = Cache.Keys[Layer];
            var values = Cache.Values[Layer];
            int qStride = Heads * HeadDim;
            for (int idx = start; idx < end; idx++)
            {
                int t = idx / Heads, h = idx % Heads, g = h / Group;
                var qv = Q.AsSpan(t * qStride + h * HeadDim, HeadDim);
                float max = float.NegativeInfinity;
                for (int s = 0; s < slots; s++)
                {
                    if (!Mask.IsVisible(t, s)) { scores[s] = float.NegativeInfinity; continue; }
                    float d = TensorPrimitives.Dot(qv, keys.AsSpan(Cache.Offset(g, s), HeadDim)) * Scale;
                    scores[s] = d;
                    if (d > max) max = d;
                }
                var o = Output.AsSpan(t * qStride + h * HeadDim, HeadDim);
                o.Clear();
                if (float.IsNegativeInfinity(max)) continue; // nothing visible: zero output
                float sum = 0;
                for (int s = 0; s < slots; s++)
                {
                    float sc = scores[s];
                    if (float.IsNegativeInfinity(sc)) continue;
                    float p = MathF.Exp(sc - max);
                    sum += p;
                    scores[s] = p;
                }
                float inv = 1f / sum;
                for (int s = 0; s < slots; s++)
                {
                    float sc = scores[s];
                    if (float.IsNegativeInfinity(sc)) continue;
                    TensorPrimitives.MultiplyAdd(values.AsSpan(Cache.Offset(g, s), HeadDim), sc * inv, o, o);
                }
            }
        }
    }
}
