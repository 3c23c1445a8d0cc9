using FrSpec.Frequency;
using FrSpec.Model;

namespace FrSpec.Speculative;

/// <summary>
/// Where FR-Spec's draft vocabulary comes from, as the int[] <see cref="SpeculativeDecoder.Create(Transformer, string, int[], TreeOptions)"/>
/// takes: a frequency list file (freq_N.pt / SGLang token map), cut to V' ids with the model's stop ids forced in,
/// or — without a file — the first V' token ids (a stand-in for timing runs; BPE ids are roughly merge order).
/// </summary>
public static class FrDraftVocabulary
{
    /// <summary>The ids of a frequency list, the first <paramref name="size"/> distinct ones (all when null), stop ids included.</summary>
    public static int[] Load(string path, ModelConfig target, int? size = null, IReadOnlyCollection<int>? stopIds = null)
    {
        var required = new HashSet<int>(target.EosTokenIds);
        if (stopIds != null) required.UnionWith(stopIds);
        required.RemoveWhere(id => (uint)id >= (uint)target.VocabSize);
        return FrequencySubset.Load(path, target.VocabSize, required, size).Ids;
    }

    /// <summary>Token ids 0..size−1, with the model's stop ids replacing the last ones when missing.</summary>
    public static int[] FirstIds(ModelConfig target, int size, IReadOnlyCollection<int>? stopIds = null)
    {
        if (size <= 0 || size > target.VocabSize) throw new FrSpecException($"FR-Spec subset size {size} must be between 1 and the vocabulary size {target.VocabSize}");
        var required = new HashSet<int>(target.EosTokenIds);
        if (stopIds != null) required.UnionWith(stopIds);
        required.RemoveWhere(id => (uint)id >= (uint)target.VocabSize);
        return FrequencySubset.FromRanking(Enumerable.Range(0, target.VocabSize).ToArray(), size, required).Ids;
    }
}
