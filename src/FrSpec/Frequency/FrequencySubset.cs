using FrSpec.Formats.Torch;

namespace FrSpec.Frequency;

/// <summary>
/// The FR-Spec draft vocabulary: V' distinct token ids in frequency order (most frequent first). The draft LM
/// head keeps only these rows. Required ids (end-of-sequence / end-of-turn / chat control tokens) are always
/// present; when they are not among the top ids they take the places of the lowest-ranked ones, so the
/// subset holds exactly V' distinct ids (docs/frequency.md).
/// </summary>
public sealed class FrequencySubset
{
    private FrequencySubset(int[] ids) => Ids = ids;

    /// <summary>The ids, most frequent first.</summary>
    public int[] Ids { get; }

    /// <summary>V', the number of ids.</summary>
    public int Count => Ids.Length;

    /// <summary>
    /// Loads an FR-Spec <c>freq_N.pt</c> or SGLang token map (torch.save of a list/tuple of ints or a 1-D
    /// integer tensor). Ids must be &lt; <paramref name="vocabSize"/>; duplicates are dropped (first occurrence
    /// kept, e.g. the extra BOS of fr.py's Llama-3 lists); the first <paramref name="size"/> distinct ids are kept
    /// (all when null) and required ids missing from them replace the last ones.
    /// </summary>
    public static FrequencySubset Load(string path, int vocabSize, IReadOnlyCollection<int> requiredIds, int? size = null)
    {
        ArgumentNullException.ThrowIfNull(requiredIds);
        if (size is <= 0) throw new FrSpecException($"{path}: subset size {size} must be positive");
        var raw = TorchCheckpoint.ReadIntList(path);
        var seen = new HashSet<int>();
        var ordered = new List<int>(raw.Length);
        for (int i = 0; i < raw.Length; i++)
        {
            if (raw[i] >= vocabSize)
                throw new FrSpecException($"{path}: item {i} is token id {raw[i]}, outside the target vocabulary of {vocabSize} ids (wrong tokenizer/model for this file?)");
            if (seen.Add(raw[i])) ordered.Add(raw[i]);
        }
        int n = size ?? ordered.Count;
        if (n > ordered.Count)
            throw new FrSpecException($"{path}: holds {ordered.Count} distinct ids, fewer than the requested subset size {n}");
        return new FrequencySubset(ForceRequired(ordered.GetRange(0, n), ordered, requiredIds, vocabSize, path));
    }

    /// <summary>
    /// An explicit list of ids (most important first), which must be distinct and below <paramref name="vocabSize"/>;
    /// required ids missing from it replace its last ones, so the size stays.
    /// </summary>
    public static FrequencySubset FromIds(IReadOnlyList<int> ids, int vocabSize, IReadOnlyCollection<int> requiredIds, string source = "the id list")
    {
        ArgumentNullException.ThrowIfNull(requiredIds);
        if (ids.Count == 0) throw new FrSpecException($"{source}: the FR-Spec vocabulary subset is empty");
        var seen = new HashSet<int>();
        foreach (int id in ids)
        {
            if ((uint)id >= (uint)vocabSize) throw new FrSpecException($"{source}: token id {id} is outside the vocabulary of {vocabSize} ids");
            if (!seen.Add(id)) throw new FrSpecException($"{source}: token id {id} is listed twice");
        }
        var ordered = ids.ToList();
        return new FrequencySubset(ForceRequired(ordered, ordered, requiredIds, vocabSize, source));
    }

    /// <summary>
    /// The top <paramref name="size"/> ids by count (ties by lower id) with the required ids forced in;
    /// the result is in frequency order (required ids sit at their own rank).
    /// </summary>
    public static FrequencySubset FromCounts(ReadOnlySpan<long> counts, int size, IReadOnlyCollection<int> requiredIds)
    {
        ArgumentNullException.ThrowIfNull(requiredIds);
        var ranking = TokenCounts.Ranking(counts);
        return FromRanking(ranking, size, requiredIds);
    }

    /// <summary>Like <see cref="FromCounts"/> for a precomputed ranking (all ids, frequency order).</summary>
    public static FrequencySubset FromRanking(IReadOnlyList<int> ranking, int size, IReadOnlyCollection<int> requiredIds)
    {
        int vocab = ranking.Count;
        if (size <= 0 || size > vocab) throw new FrSpecException($"subset size {size} must be between 1 and the vocabulary size {vocab}");
        var required = Validate(requiredIds, vocab, "required token");
        if (required.Count > size) throw new FrSpecException($"subset size {size} is smaller than the {required.Count} required special tokens");
        // Keep the best (size − #required) non-required ids plus all required ids, in ranking order.
        int quota = size - required.Count;
        var ids = new List<int>(size);
        foreach (var id in ranking)
        {
            if (required.Contains(id)) ids.Add(id);
            else if (quota > 0) { ids.Add(id); quota--; }
            if (ids.Count == size) break;
        }
        return new FrequencySubset(ids.ToArray());
    }

    /// <summary>Membership mask over the full vocabulary.</summary>
    public bool[] ToMask(int vocabSize)
    {
        var mask = new bool[vocabSize];
        foreach (var id in Ids) mask[id] = true;
        return mask;
    }

    private static HashSet<int> Validate(IReadOnlyCollection<int> ids, int vocab, string what)
    {
        var set = new HashSet<int>();
        foreach (var id in ids)
        {
            if (id < 0 || id >= vocab) throw new FrSpecException($"{what} id {id} is outside the vocabulary of {vocab} ids");
            set.Add(id);
        }
        return set;
    }

    /// <summary>Required ids missing from <paramref name="head"/> replace its last non-required entries.</summary>
    private static int[] ForceRequired(List<int> head, List<int> all, IReadOnlyCollection<int> requiredIds, int vocab, string path)
    {
        var required = Validate(requiredIds, vocab, "required token");
        if (required.Count > head.Count) throw new FrSpecException($"{path}: subset size {head.Count} is smaller than the {required.Count} required special tokens");
        var present = new HashSet<int>(head);
        var missing = required.Where(id => !present.Contains(id)).ToList();
        if (missing.Count == 0) return head.ToArray();
        // Order missing ids by their position in the file when listed there (frequency order), else by id.
        var position = new Dictionary<int, int>();
        for (int i = 0; i < all.Count; i++) position.TryAdd(all[i], i);
        missing.Sort((a, b) => (position.GetValueOrDefault(a, int.MaxValue), a).CompareTo((position.GetValueOrDefault(b, int.MaxValue), b)));
        int toDrop = missing.Count;
        var kept = new List<int>(head.Count);
        for (int i = head.Count - 1; i >= 0; i--)
        {
            if (toDrop > 0 && !required.Contains(head[i])) { toDrop--; continue; }
            kept.Add(head[i]);
        }
        kept.Reverse();
        kept.AddRange(missing);
        return kept.ToArray();
    }
}
