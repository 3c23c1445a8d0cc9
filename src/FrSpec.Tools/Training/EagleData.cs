using FrSpec.Generation;
using FrSpec.Model;
using FrSpec.Numerics;

namespace FrSpec.Training;

/// <summary>
/// Training windows for an EAGLE head: tokens x_0..x_S and the target's final-norm hidden states f_0..f_S over them
/// (what <see cref="Transformer.Forward"/> returns). Windows come from corpus text, or from text the target itself
/// samples after a short corpus prompt — what the draft sees at inference time.
/// </summary>
public sealed class EagleData
{
    public int WindowLength { get; }
    public int Hidden { get; }
    public List<int[]> Tokens { get; } = new();
    public List<float[]> Features { get; } = new();

    private ForwardState? _state; // reused across windows of one target

    public EagleData(int windowLength, int hidden) { WindowLength = windowLength; Hidden = hidden; }

    public int Count => Tokens.Count;

    /// <summary>Runs the target over a window and stores its tokens and features.</summary>
    public void Add(Transformer target, int[] window)
    {
        if (window.Length != WindowLength) throw new ArgumentException($"window of {window.Length} tokens, expected {WindowLength}");
        var cache = target.CreateCache(WindowLength);
        if (_state == null || !_state.IsFor(target)) _state = target.CreateState();
        var f = target.Forward(_state, cache, window, Enumerable.Range(0, WindowLength).ToArray()).ToArray();
        Tokens.Add(window);
        Features.Add(f);
    }

    /// <summary>
    /// Samples a window from the target: the first <paramref name="promptLength"/> tokens of <paramref name="prompt"/>,
    /// then tokens drawn from softmax(logits / temperature). Returns the full window of <see cref="WindowLength"/>.
    /// </summary>
    public static int[] Generate(Transformer target, ReadOnlySpan<int> prompt, int promptLength, int length, float temperature, Rng rng)
    {
        var window = new int[length];
        prompt[..promptLength].CopyTo(window);
        var cache = target.CreateCache(length);
        var state = target.CreateState();
        var logits = new float[target.Config.VocabSize];
        var h = target.Forward(state, cache, window.AsSpan(0, promptLength), Enumerable.Range(0, promptLength).ToArray());
        cache.CommitAll();
        int H = target.Config.HiddenSize;
        var last = h.Slice((promptLength - 1) * H, H).ToArray();
        for (int t = promptLength; t < length; t++)
        {
            target.Head.Compute(last, 1, logits);
            int next = Sample(logits, temperature, rng);
            window[t] = next;
            if (t + 1 == length) break;
            last = target.Forward(state, cache, [next], [t]).ToArray();
            cache.CommitAll();
        }
        return window;
    }

    private static int Sample(float[] logits, float temperature, Rng rng)
    {
        if (temperature <= 0) return Ops.ArgMax(logits);
        System.Numerics.Tensors.TensorPrimitives.Multiply(logits, 1f / temperature, logits);
        Ops.Softmax(logits);
        double u = rng.NextDouble(), acc = 0;
        for (int i = 0; i < logits.Length; i++) { acc += logits[i]; if (u < acc) return i; }
        return Ops.ArgMax(logits);
    }
}
