using System.Collections;

namespace FrSpec.Sessions;

/// <summary>
/// The one resolved set of ids that end an answer for a model: eos_token_id of config.json and of
/// generation_config.json, tokenizer_config.json's eos_token, and the end-of-turn tokens of the chat template. Each id
/// remembers where it came from, for error messages and reports.
/// </summary>
public sealed class StopTokens : IReadOnlyCollection<int>
{
    private readonly int[] _ids;
    private readonly IReadOnlyDictionary<int, string> _sources;

    internal StopTokens(SortedDictionary<int, string> sources)
    {
        _ids = [.. sources.Keys];
        _sources = sources;
    }

    /// <summary>The ids, ascending.</summary>
    public IReadOnlyList<int> Ids => _ids;

    public int Count => _ids.Length;

    public bool Contains(int id) => Array.BinarySearch(_ids, id) >= 0;

    /// <summary>Where an id was found first (e.g. "generation_config.json eos_token_id"), or null when it is not a stop id.</summary>
    public string? SourceOf(int id) => _sources.GetValueOrDefault(id);

    public IEnumerator<int> GetEnumerator() => ((IEnumerable<int>)_ids).GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() => string.Join(", ", _ids.Select(id => $"{id} ({_sources[id]})"));
}
