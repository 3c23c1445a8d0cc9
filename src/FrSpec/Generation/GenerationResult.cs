namespace FrSpec.Generation;

/// <summary>What one generation produced and what it cost.</summary>
public sealed class GenerationResult
{
    /// <summary>Generated ids (prompt excluded), including a final stop id if one was produced.</summary>
    public required int[] Ids { get; init; }
    /// <summary>
    /// Tokens emitted by each target forward pass after prefill: accepted draft tokens plus the bonus token (1 each
    /// for vanilla decoding). The first generated token comes from the prefill pass and is not counted, so the sum is
    /// Ids.Length − 1 when anything was generated.
    /// </summary>
    public required int[] AcceptLengths { get; init; }
    /// <summary>Wall time of the prompt prefill.</summary>
    public double PrefillSeconds { get; init; }
    /// <summary>Wall time of the decode phase (after prefill).</summary>
    public double DecodeSeconds { get; init; }
    /// <summary>Where decode time went (zero for parts a method does not have).</summary>
    public TimeSplit Time { get; init; } = new();
    public bool StoppedByStopId { get; init; }
    /// <summary>
    /// Speculative methods: the tree and draft vocabulary in force at the end (with the automatic tree, what it settled on,
    /// possibly plain decoding); null for vanilla decoding.
    /// </summary>
    public TreePlan? Tree { get; init; }
    /// <summary>How many times the automatic tree changed its plan during this generation.</summary>
    public int TreeChanges { get; init; }

    public double MeanAcceptLength => AcceptLengths.Length == 0 ? 0 : AcceptLengths.Average();
    /// <summary>Generated tokens per second of decode time (prefill excluded, as Spec-Bench reports).</summary>
    public double TokensPerSecond => DecodeSeconds > 0 ? Ids.Length / DecodeSeconds : 0;
}

/// <summary>Decode-time split, in seconds.</summary>
public sealed record TimeSplit
{
    public double DraftLayers { get; init; }
    public double DraftLmHead { get; init; }
    public double Verify { get; init; }
    public double Other { get; init; }
}
