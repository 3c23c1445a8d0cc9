namespace FrSpec.Generation;

/// <summary>The stop ids of one generation, copied once so that the per-token check allocates nothing.</summary>
internal readonly struct StopSet(IReadOnlyCollection<int>? ids)
{
    private readonly int[] _ids = ids is null ? [] : [.. ids];

    public bool Contains(int id) => Array.IndexOf(_ids, id) >= 0;
}
