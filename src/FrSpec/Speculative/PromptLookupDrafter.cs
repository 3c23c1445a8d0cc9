using System.Diagnostics;

namespace FrSpec.Speculative;

/// <summary>
/// Prompt lookup decoding (n-gram drafting, as transformers' prompt_lookup_num_tokens and llama.cpp's ngram drafts):
/// no weights. The last n tokens of the sequence so far (prompt and output, the root included) are searched for in the
/// earlier sequence, n from <see cref="PromptLookupOptions.MaxNgram"/> down to <see cref="PromptLookupOptions.MinNgram"/>;
/// the first (earliest) occurrence that has a continuation supplies up to <see cref="PromptLookupOptions.DraftTokens"/>
/// following tokens as a chain. No match: the round verifies the root alone, a plain decoding step. The search is a
/// linear scan over the sequence, microseconds against a target pass.
/// </summary>
internal sealed class PromptLookupDrafter(PromptLookupOptions options) : IDrafter
{
    private int[] _sequence = [];
    private int _count;
    private long _ticks;

    public DraftFeatures Features => DraftFeatures.None;
    public int MaxTreeTokens => options.DraftTokens + 1;
    public (double Layers, double Head) Time => (_ticks / (double)Stopwatch.Frequency, 0);

    public void Begin(ReadOnlySpan<int> prompt, int maxSequenceLength)
    {
        int need = Math.Max(maxSequenceLength, prompt.Length + 1);
        if (_sequence.Length < need) _sequence = new int[need];
        // Pairs cover tokens 1..; the first token is the prompt's own.
        _sequence[0] = prompt[0];
        _count = 1;
        _ticks = 0;
    }

    public void Extend(ReadOnlySpan<float> features, ReadOnlySpan<int> nextTokens)
    {
        if (_count + nextTokens.Length > _sequence.Length) Array.Resize(ref _sequence, Math.Max(_count + nextTokens.Length, _sequence.Length * 2));
        nextTokens.CopyTo(_sequence.AsSpan(_count));
        _count += nextTokens.Length;
    }

    public void Draft(int rootToken, DraftTree tree)
    {
        long t0 = Stopwatch.GetTimestamp();
        tree.Reset(rootToken);
        var (start, length) = Find(_sequence.AsSpan(0, _count), options, tree.Capacity - 1);
        int node = 0;
        for (int i = 0; i < length; i++) node = tree.Add(_sequence[start + i], node);
        _ticks += Stopwatch.GetTimestamp() - t0;
    }

    /// <summary>
    /// The continuation to draft for <paramref name="sequence"/>: (start, length) in it, length 0 when no n-gram of the
    /// allowed sizes recurs with a continuation. The suffix's own position is excluded by the continuation rule (it has none).
    /// </summary>
    internal static (int Start, int Length) Find(ReadOnlySpan<int> sequence, PromptLookupOptions options, int maxTokens)
    {
        int count = sequence.Length, draft = Math.Min(options.DraftTokens, maxTokens);
        if (draft <= 0) return (0, 0);
        for (int n = Math.Min(options.MaxNgram, count - 1); n >= options.MinNgram; n--)
        {
            var suffix = sequence[(count - n)..];
            for (int i = 0; i + n < count; i++)
            {
                if (!sequence.Slice(i, n).SequenceEqual(suffix)) continue;
                int start = i + n, length = Math.Min(draft, count - start);
                if (length > 0) return (start, length);
            }
        }
        return (0, 0);
    }
}

/// <summary>
/// Prompt lookup settings. Defaults as transformers: match n-grams of up to 2 tokens (down to 1), draft up to 10
/// following tokens (prompt_lookup_num_tokens; on a CPU a shorter chain may verify faster, see docs/speculative.md).
/// </summary>
public sealed record PromptLookupOptions
{
    /// <summary>Longest n-gram to match (transformers' max_matching_ngram_size, default 2).</summary>
    public int MaxNgram { get; init; } = 2;
    /// <summary>Shortest n-gram to match (1: a single repeated token is enough).</summary>
    public int MinNgram { get; init; } = 1;
    /// <summary>Tokens drafted after a match (transformers' prompt_lookup_num_tokens).</summary>
    public int DraftTokens { get; init; } = 10;

    public static PromptLookupOptions Default { get; } = new();

    public void Validate()
    {
        if (MinNgram < 1 || MaxNgram < MinNgram || MaxNgram > 64)
            throw new FrSpecException($"prompt lookup n-gram sizes must satisfy 1 ≤ min ({MinNgram}) ≤ max ({MaxNgram}) ≤ 64");
        if (DraftTokens < 1 || DraftTokens > 256) throw new FrSpecException($"prompt lookup draft tokens must be in [1, 256], got {DraftTokens}");
    }
}
