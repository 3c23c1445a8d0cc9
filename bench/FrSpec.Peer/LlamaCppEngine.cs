using LLama;
using LLama.Common;
using LLama.Native;

namespace FrSpec.Peer;

/// <summary>
/// llama.cpp through LLamaSharp's low-level API: one sequence, a batch per call, logits requested per token.
/// The KV cache is F16 as llama.cpp's default (for timing) or F32 (for the numerics reference, so only the weights'
/// own rounding and llama.cpp's activation conversion remain).
/// </summary>
internal sealed class LlamaCppEngine : IPeerEngine
{
    private readonly LLamaWeights _weights;
    private readonly LLamaContext _context;
    private readonly LLamaBatch _batch = new();

    public LlamaCppEngine(string ggufPath, int contextSize, int threads, bool f32KvCache = false, bool mmap = true)
    {
        var p = new ModelParams(ggufPath)
        {
            ContextSize = (uint)contextSize,
            BatchSize = (uint)contextSize,
            UBatchSize = (uint)contextSize,
            Threads = threads,
            BatchThreads = threads,
            GpuLayerCount = 0,
            LoadMode = mmap ? LLamaLoadMode.MemoryMap : LLamaLoadMode.None,
            FlashAttention = false,
        };
        if (f32KvCache) { p.TypeK = GGMLType.GGML_TYPE_F32; p.TypeV = GGMLType.GGML_TYPE_F32; }
        KvCacheType = f32KvCache ? "F32" : "F16";
        _weights = LLamaWeights.LoadFromFile(p);
        _context = _weights.CreateContext(p);
        VocabSize = _weights.Vocab.Count;
    }

    public string Name => "llama.cpp";
    public string KvCacheType { get; }
    public int VocabSize { get; }
    public int Length { get; private set; }

    /// <summary>llama.cpp's tokenization of <paramref name="text"/> (no BOS, special-token text not parsed).</summary>
    public int[] Tokenize(string text) =>
        _weights.Tokenize(text, false, false, System.Text.Encoding.UTF8).Select(t => (int)t).ToArray();

    public void Clear()
    {
        _context.NativeHandle.MemoryClear(true);
        Length = 0;
    }

    public void Run(ReadOnlySpan<int> tokens, bool allLogits, Span<float> logits)
    {
        int n = tokens.Length;
        _batch.Clear();
        for (int i = 0; i < n; i++)
            _batch.Add((LLamaToken)tokens[i], (LLamaPos)(Length + i), LLamaSeqId.Zero, allLogits || i == n - 1);
        var rc = _context.NativeHandle.Decode(_batch);
        if (rc != DecodeResult.Ok) throw new FrSpecException($"llama.cpp decode failed: {rc}");
        Length += n;
        if (allLogits)
            for (int i = 0; i < n; i++) _context.NativeHandle.GetLogitsIth(i).CopyTo(logits.Slice(i * VocabSize, VocabSize));
        else _context.NativeHandle.GetLogitsIth(n - 1).CopyTo(logits[..VocabSize]);
    }

    public void Truncate(int length)
    {
        _context.NativeHandle.MemorySequenceRemove(LLamaSeqId.Zero, (LLamaPos)length, (LLamaPos)(-1));
        Length = length;
    }

    public void Dispose()
    {
        _context.Dispose();
        _weights.Dispose();
    }
}
