using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace FrSpec.Model;

/// <summary>
/// FR-Spec's draft vocabulary: V' distinct token ids of one model's vocabulary, most frequent first, the model's stop
/// and chat-control ids always among them. Only the engine creates one (through <c>LanguageModel</c>), after validating
/// the ids once; the LM head takes it as it is (<see cref="LmHead.Subset"/>). Immutable; equal when the ids are.
/// </summary>
public sealed class DraftVocabulary : IEquatable<DraftVocabulary>
{
    private readonly int[] _ids;
    private readonly int _hash;

    /// <summary>Wraps validated ids (distinct, in [0, vocabSize), required ids included); the array is not copied.</summary>
    internal DraftVocabulary(int[] ids, int vocabSize, string source)
    {
        _ids = ids;
        VocabSize = vocabSize;
        Source = source;
        var hash = new HashCode();
        foreach (int id in ids) hash.Add(id);
        _hash = hash.ToHashCode();
    }

    /// <summary>The ids, most frequent first (logit row i of the subset head is token Ids[i]).</summary>
    public IReadOnlyList<int> Ids => _ids;

    /// <summary>V'.</summary>
    public int Count => _ids.Length;

    /// <summary>Size of the full vocabulary the ids index.</summary>
    public int VocabSize { get; }

    /// <summary>Where the ids came from (a file, the bundled counts, or "explicit ids"), for reports.</summary>
    public string Source { get; }

    /// <summary>SHA-256 of the ids (int32 little-endian, in order), hex: identifies a subset in reports and across processes.</summary>
    public string Fingerprint => Convert.ToHexStringLower(SHA256.HashData(MemoryMarshal.AsBytes(_ids.AsSpan())));

    /// <summary>The ids as the LM head stores them (shared, never written).</summary>
    internal int[] IdArray => _ids;

    public bool Equals(DraftVocabulary? other) =>
        other is not null && (ReferenceEquals(this, other) || (other.VocabSize == VocabSize && other._hash == _hash && other._ids.AsSpan().SequenceEqual(_ids)));

    public override bool Equals(object? obj) => Equals(obj as DraftVocabulary);
    public override int GetHashCode() => _hash;
    public override string ToString() => $"{Count} of {VocabSize} ids ({Source})";
}
