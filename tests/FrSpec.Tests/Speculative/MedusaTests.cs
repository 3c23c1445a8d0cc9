using System.Text.Json.Nodes;
using FrSpec.Formats;
using FrSpec.Generation;
using FrSpec.Model;
using FrSpec.Numerics;
using FrSpec.Sessions;
using FrSpec.Speculative;

namespace FrSpec.Tests.Speculative;

/// <summary>Medusa: the static tree, the head file layouts and their errors, and drafted tokens against a scalar reference.</summary>
public class MedusaTests
{
    private const int Vocab = 300;
    private static string Target() => DrafterFixtures.Target("qwen2", Vocab, layers: 2, hidden: 64, seed: 501);

    [Fact]
    public void McSimTreeHasMedusasShape()
    {
        var t = MedusaTree.McSim7b63;
        Assert.Equal(63, t.Paths.Count);
        Assert.Equal(4, t.Depth);
        Assert.Equal([10, 10, 10, 2], t.TopKPerHead);
        // ordered by depth then lexicographically: parents first, siblings by rank
        Assert.Equal([0], t.Paths[0]);
        Assert.Equal([9], t.Paths[9]);
        Assert.Equal([0, 0], t.Paths[10]);
        Assert.Equal([0, 0, 0, 1], t.Paths[^1]);
        for (int i = 0; i < t.Paths.Count; i++)
        {
            int p = t.Parents[i];
            if (t.Paths[i].Length == 1) Assert.Equal(-1, p);
            else { Assert.True(p < i); Assert.Equal(t.Paths[i][..^1], t.Paths[p]); }
        }
        // a prefix of Medusa's list is a tree too
        var small = t.Prefix(10);
        Assert.Equal(10, small.Paths.Count);
        Assert.Equal(3, small.Depth);
    }

    [Fact]
    public void ChoicesFilesAreReadAndChecked()
    {
        string dir = TinyModels.NewDir("choices");
        string Write(string json) { string f = Path.Combine(dir, Guid.NewGuid().ToString("N") + ".json"); File.WriteAllText(f, json); return f; }
        var tree = MedusaTree.Load(Write("[[1], [0], [0, 0], [0, 1], [1, 0]]"));
        Assert.Equal([[0], [1], [0, 0], [0, 1], [1, 0]], tree.Paths);
        Assert.Equal(5, MedusaTree.Load(Write("""{"medusa_choices": [[0], [1], [0, 0], [0, 1], [1, 0]]}""")).Paths.Count);
        Assert.Contains("no parent path [1]", Assert.Throws<FrSpecException>(() => MedusaTree.Load(Write("[[0], [1, 0]]"))).Message);
        Assert.Contains("appears twice", Assert.Throws<FrSpecException>(() => MedusaTree.Load(Write("[[0], [0]]"))).Message);
        Assert.Contains("rank -1", Assert.Throws<FrSpecException>(() => MedusaTree.Load(Write("[[-1]]"))).Message);
        Assert.Contains("not an integer", Assert.Throws<FrSpecException>(() => MedusaTree.Load(Write("[[0.5]]"))).Message);
        Assert.Contains("invalid JSON", Assert.Throws<FrSpecException>(() => MedusaTree.Load(Write("[[0]"))).Message);
        Assert.Contains("no paths", Assert.Throws<FrSpecException>(() => MedusaTree.Load(Write("[]"))).Message);
        Assert.Contains("not found", Assert.Throws<FrSpecException>(() => MedusaTree.Load(Path.Combine(dir, "missing.json"))).Message);
        // deeper than the heads: refused when the session is made
        using var model = LanguageModel.Load(Target());
        string heads = DrafterFixtures.Medusa(Target(), heads: 2, layers: 1, "safetensors", 1);
        var e = Assert.Throws<FrSpecException>(() => model.CreateSession(DecodingMethod.Medusa(heads, null, MedusaTree.McSim7b63)));
        Assert.Contains("4 deep", e.Message);
    }

    [Theory]
    [InlineData("safetensors", 1)]
    [InlineData("pt", 2)]
    public void DraftedTokensAreEachHeadsTopTokens(string format, int layers)
    {
        string target = Target();
        using var model = LanguageModel.Load(target);
        string dir = DrafterFixtures.Medusa(target, heads: 4, layers, format, 3);
        var heads = model.Medusa(dir);
        Assert.Equal(4, heads.Count);
        Assert.Equal(layers, heads.Layers);
        var tree = MedusaTree.FromPaths([[0], [1], [2], [0, 0], [0, 3], [1, 0], [0, 0, 0], [0, 0, 0, 1]]);
        var drafter = new MedusaDrafter(heads, model.MedusaLmHeads(dir, null), tree, model.Target.Compute);
        var rng = new Rng(5);
        var h = Enumerable.Range(0, 64).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        drafter.Begin([1], 64);
        drafter.Extend([.. new float[64], .. h], [4, 9]); // only the newest feature counts
        var draft = new DraftTree(drafter.MaxTreeTokens);
        drafter.Draft(9, draft);
        Assert.Equal(9, draft.Tokens[0]);
        Assert.Equal(tree.Paths.Count + 1, draft.Count);

        // reference: x = h; x += silu(W x + b) per block; logits = head_k · x; ranks by value (ties to the lower id)
        var top = Enumerable.Range(0, 4).Select(k => ReferenceTop(dir, format, k, layers, h, 4)).ToArray();
        for (int i = 0; i < tree.Paths.Count; i++)
        {
            var p = tree.Paths[i];
            Assert.Equal(top[p.Length - 1][p[^1]], draft.Tokens[i + 1]);
            Assert.Equal(tree.Parents[i] + 1, draft.Parents[i + 1]);
        }
    }

    private static int[] ReferenceTop(string dir, string format, int k, int layers, float[] h, int count)
    {
        IReadOnlyDictionary<string, float[]> t = format == "safetensors"
            ? Read(Path.Combine(dir, "medusa_lm_head.safetensors"))
            : FrSpec.Formats.Torch.TorchCheckpoint.ReadStateDict(Path.Combine(dir, "medusa_lm_head.pt")).ToDictionary(kv => kv.Key, kv => kv.Value.ToFloat32Array());
        var x = h.Select(v => (double)v).ToArray();
        for (int j = 0; j < layers; j++)
        {
            var w = t[$"{k}.{j}.linear.weight"]; var b = t[$"{k}.{j}.linear.bias"];
            var y = Enumerable.Range(0, 64).Select(o => b[o] + Enumerable.Range(0, 64).Sum(i => x[i] * w[o * 64 + i])).ToArray();
            x = x.Select((v, i) => v + y[i] / (1 + Math.Exp(-y[i]))).ToArray();
        }
        var head = t[$"{k}.{layers}.weight"];
        var logits = Enumerable.Range(0, Vocab).Select(v => Enumerable.Range(0, 64).Sum(i => x[i] * head[v * 64 + i])).ToArray();
        return Enumerable.Range(0, Vocab).OrderByDescending(v => logits[v]).ThenBy(v => v).Take(count).ToArray();
    }

    private static Dictionary<string, float[]> Read(string path)
    {
        using var f = SafetensorsFile.Open(path);
        return f.Entries.Values.ToDictionary(e => e.Name, e =>
        {
            var v = new float[e.ElementCount];
            unsafe { FrSpec.Numerics.Convert.ToFloat(SafetensorsFile.ToDType(path, e), (byte*)f.DataPointer(e), v); }
            return v;
        });
    }

    [Fact]
    public void HeadCountComesFromTheTensorsAndSharedOrMissingPartsLoad()
    {
        string target = Target();
        var cfg = ModelConfig.Load(target);
        string dir = TinyModels.NewDir("medusa-layout");
        FrSpec.Synthesis.MedusaSynthesizer.Write(target, dir, heads: 3, layers: 2, "safetensors", 7);
        // a config stating 2 heads (as published vicuna configs do for files holding 5): the file's 3 count
        File.WriteAllText(Path.Combine(dir, "config.json"), """{"medusa_num_heads": 2, "medusa_num_layers": 2}""");
        using (var heads = MedusaHeads.Load(dir, cfg)) { Assert.Equal(3, heads.Count); Assert.Equal(2, heads.Layers); }

        // a shared ResBlock stored once under index 0 (Medusa repeats one module): layers from the LM head's index
        Rewrite(dir, blobs => blobs.Where(b => !b.Name.Contains(".1.linear.")).ToList());
        using (var heads = MedusaHeads.Load(dir, cfg))
        {
            Assert.Equal(2, heads.Layers);
            Assert.Same(heads.Blocks[0][0].W, heads.Blocks[0][1].W);
        }

        // heads without LM heads of their own use the target's
        Rewrite(dir, blobs => blobs.Where(b => !b.Name.EndsWith(".2.weight")).ToList());
        File.WriteAllText(Path.Combine(dir, "config.json"), """{"medusa_num_heads": 3, "medusa_num_layers": 1}""");
        using (var heads = MedusaHeads.Load(dir, cfg)) Assert.All(heads.HeadWeights, w => Assert.Null(w));
        using (var model = LanguageModel.Load(target))
            Assert.All(model.MedusaLmHeads(dir, null), h => Assert.Same(model.Target.Head, h));

        Rewrite(dir, blobs => [.. blobs, TensorBlob.FromFloats("0.0.other", [1], [1f], DType.F32)]);
        Assert.Contains("'0.0.other' is not a Medusa head tensor", Assert.Throws<FrSpecException>(() => MedusaHeads.Load(dir, cfg)).Message);
        Assert.Contains("no medusa_lm_head", Assert.Throws<FrSpecException>(() => MedusaHeads.Load(TinyModels.NewDir("empty"), cfg)).Message);
        File.WriteAllText(Path.Combine(dir, "config.json"), """{"hidden_size": 32}""");
        Assert.Contains("hidden_size 32", Assert.Throws<FrSpecException>(() => MedusaHeads.Load(dir, cfg)).Message);
    }

    private static void Rewrite(string dir, Func<List<TensorBlob>, List<TensorBlob>> edit)
    {
        string path = Path.Combine(dir, "medusa_lm_head.safetensors");
        List<TensorBlob> blobs;
        using (var f = SafetensorsFile.Open(path))
            blobs = f.Entries.Values.OrderBy(e => e.Begin).Select(e => TensorBlob.FromBytes(e.Name, e.DType, e.Shape, f.Bytes(e).ToArray())).ToList();
        SafetensorsWriter.Write(path, edit(blobs));
    }

    [Fact]
    public void TypicalAcceptanceTakesTheLongestPassingChain()
    {
        // a 4-token target distribution at every node: p = softmax(logits) with one dominant token
        var tree = new DraftTree(8);
        tree.Reset(0);
        int a = tree.Add(1, 0), b = tree.Add(2, 0); // two children of the root
        tree.Add(3, a);                              // a's child
        int bb = tree.Add(1, b); int leaf = tree.Add(2, bb); // b's child and grandchild
        var hidden = new float[8 * 4];
        var logitsOf = new Dictionary<int, float[]>
        {
            [0] = [0, 2, 2, -9],   // tokens 1 and 2 both likely
            [a] = [0, 0, 0, -9],   // token 3 unlikely
            [b] = [0, 3, 0, 0],    // token 1 likely
            [bb] = [0, 0, 3, 0],   // token 2 likely
        };
        // identity LM head: node features are the logits themselves
        for (int n = 0; n < tree.Count; n++) (logitsOf.GetValueOrDefault(n) ?? [0, 0, 0, 0]).CopyTo(hidden, n * 4);
        var head = new LmHead(Compute.Default, WeightMatrix.FromFloats([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1], 4, 4, DType.F32));
        var logits = new NodeLogits(head, 4, 8);
        logits.Begin(tree, hidden);
        var acceptor = new TypicalAcceptor(4, 8);
        var path = new int[8];
        int length = acceptor.Accept(tree, logits, new Sampler(new SamplingOptions(Temperature: 1f, Seed: 1)), path, out int bonus);
        Assert.Equal(4, length); // root → b → bb → leaf beats root → a (whose child fails)
        Assert.Equal([0, b, bb, leaf], path[..4]);
        Assert.Equal(0, bonus);   // the target's argmax at the last accepted node (Medusa's fast mode)
    }
}
