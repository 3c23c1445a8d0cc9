using FrSpec.Generation;
using FrSpec.Model;
using FrSpec.Speculative;

namespace FrSpec.Tests.Speculative;

/// <summary>
/// A drafter that drafts with the target itself: its tree holds the target's own greedy continuation, each true child
/// preceded by a wrong sibling (which has a child of its own), so verification must skip siblings and use the tree mask.
/// </summary>
internal sealed class OracleDrafter : IDrafter, IDisposable
{
    private readonly Transformer _model;
    private readonly int _chain;
    private readonly List<int> _sequence = new();
    public int Rounds { get; private set; }

    private readonly VanillaDecoder _vanilla;

    public OracleDrafter(string modelDir, int chain) { _model = Transformer.Load(modelDir); _vanilla = new VanillaDecoder(_model); _chain = chain; }

    public (double Layers, double Head) Time => (0, 0);
    public DraftFeatures Features => DraftFeatures.FinalHidden(_model.Config.HiddenSize);
    public int MaxTreeTokens => 64;
    public void Begin(ReadOnlySpan<int> prompt, int maxSequenceLength) { _sequence.Clear(); _sequence.Add(prompt[0]); Rounds = 0; } // Extend brings the rest, shifted by one
    public void Extend(ReadOnlySpan<float> features, ReadOnlySpan<int> nextTokens)
    {
        Assert.Equal(nextTokens.Length * _model.Config.HiddenSize, features.Length);
        _sequence.AddRange(nextTokens.ToArray());
    }

    public void Draft(int rootToken, DraftTree tree)
    {
        Assert.Equal(_sequence[^1], rootToken);
        Rounds++;
        var greedy = _vanilla.Generate(_sequence.ToArray(), new GenerationOptions { MaxNewTokens = _chain }).Ids;
        int v = _model.Config.VocabSize;
        tree.Reset(rootToken);
        int parent = 0, decoy = -1;
        foreach (int g in greedy)
        {
            int d = tree.Add((g + 1) % v, parent);
            if (decoy >= 0) tree.Add((g + 7) % v, decoy);
            parent = tree.Add(g, parent);
            decoy = d;
        }
    }

    public void Dispose() => _model.Dispose();
}

public class OracleDrafterTests
{
    [Theory]
    [InlineData("llama3", true, 41UL, 4)]
    [InlineData("qwen2", false, 42UL, 6)]
    [InlineData("qwen2", false, 42UL, 4)]
    [InlineData("llama3", true, 41UL, 6)]
    [InlineData("llama3", false, 43UL, 6)]
    public void OracleDraftsAreAcceptedToFullDepthEveryRound(string family, bool tied, ulong seed, int chain)
    {
        string dir = TinyModels.Target(family, tied, seed);
        using var target = Transformer.Load(dir);
        using var oracle = new OracleDrafter(dir, chain);
        var spec = new SpeculativeDecoder(target, oracle, "oracle");
        var prompt = new[] { 9, 8, 7, 6 };
        int max = 1 + (chain + 1) * 5 + 2;
        var r = spec.Generate(prompt, new GenerationOptions { MaxNewTokens = max });
        var expected = new VanillaDecoder(target).Generate(prompt, new GenerationOptions { MaxNewTokens = max }).Ids;
        Assert.Equal(expected, r.Ids);
        // the first token comes from prefill; the last round is cut by the budget; every other round accepts the whole chain + bonus
        Assert.Equal(6, r.AcceptLengths.Length);
        Assert.Equal(Enumerable.Repeat(chain + 1, 5), r.AcceptLengths[..^1]);
        Assert.Equal(2, r.AcceptLengths[^1]);
    }
}
