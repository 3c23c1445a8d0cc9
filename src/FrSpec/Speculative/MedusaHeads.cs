using System.Text.Json;
using FrSpec.Formats;
using FrSpec.Model;
using FrSpec.Numerics;

namespace FrSpec.Speculative;

/// <summary>
/// Medusa-1 heads (docs/formats.md, "Medusa heads"): head k reads the target's final-norm hidden state h of the last
/// accepted token and predicts the token k + 2 places ahead through ResBlocks x ← x + SiLU(W·x + b) and an LM head of
/// its own. Files: config.json (medusa_num_heads, medusa_num_layers) and medusa_lm_head.safetensors or
/// medusa_lm_head.pt with tensors {k}.{j}.linear.weight/bias (j &lt; layers) and {k}.{layers}.weight. The head count
/// comes from the tensor names when the config disagrees (published configs do). A head without an LM head of its
/// own (Medusa "version 2" exports) uses the target's. Immutable once loaded and shared by sessions.
/// </summary>
public sealed class MedusaHeads : IDisposable
{
    /// <summary>Most heads a file may hold.</summary>
    public const int MaxHeads = 16;

    /// <summary>Number of heads K (tree depth at most K).</summary>
    public int Count { get; }
    /// <summary>ResBlocks per head.</summary>
    public int Layers { get; }
    public int HiddenSize { get; }
    /// <summary>Where the weights came from.</summary>
    public string Source { get; }

    /// <summary>ResBlock weights of head k, layer j: [H, H] and its bias.</summary>
    internal (WeightMatrix W, float[] Bias)[][] Blocks { get; }
    /// <summary>The LM head weight of head k [V, H], or null when the head uses the target's.</summary>
    internal WeightMatrix?[] HeadWeights { get; }

    private readonly EagleTensors _tensors;

    private MedusaHeads(EagleTensors tensors, int hidden, (WeightMatrix, float[])[][] blocks, WeightMatrix?[] heads)
    {
        _tensors = tensors; HiddenSize = hidden; Blocks = blocks; HeadWeights = heads;
        Count = blocks.Length; Layers = blocks[0].Length; Source = tensors.Source;
    }

    /// <summary>True when a directory holds Medusa heads (medusa_lm_head.safetensors or .pt).</summary>
    public static bool IsMedusaDirectory(string dir) => WeightFile(dir) != null;

    private static string? WeightFile(string dir)
    {
        foreach (var name in new[] { "medusa_lm_head.safetensors", "medusa_lm_head.pt" })
            if (File.Exists(Path.Combine(dir, name))) return Path.Combine(dir, name);
        return null;
    }

    /// <summary>Loads Medusa heads for a target, checking every shape against the target's hidden and vocabulary sizes.</summary>
    public static MedusaHeads Load(string dir, ModelConfig target)
    {
        if (!Directory.Exists(dir)) throw new FrSpecException($"{dir}: Medusa head directory not found");
        string file = WeightFile(dir) ?? throw new FrSpecException($"{dir}: no medusa_lm_head.safetensors or medusa_lm_head.pt found (expected Medusa heads)");
        string cfgFile = Path.Combine(dir, "config.json");
        int? cfgLayers = null; // medusa_num_heads is not read: published configs state fewer heads than their files hold
        if (File.Exists(cfgFile))
        {
            using var doc = JsonFields.ReadObject(cfgFile);
            cfgLayers = JsonFields.OptInt(doc.RootElement, "medusa_num_layers", cfgFile);
            if (JsonFields.OptInt(doc.RootElement, "hidden_size", cfgFile) is int h && h != target.HiddenSize)
                throw new FrSpecException($"{cfgFile}: hidden_size {h} does not match the target model's {target.HiddenSize}");
        }
        var tensors = EagleTensors.OpenFile(file);
        try
        {
            var t = new TensorUsage(tensors);
            var (heads, layers, ownHead) = Layout(t.Names, tensors.Source, cfgLayers);
            int hidden = target.HiddenSize, vocab = target.VocabSize;
            var blocks = new (WeightMatrix, float[])[heads][];
            var lm = new WeightMatrix?[heads];
            for (int k = 0; k < heads; k++)
            {
                blocks[k] = new (WeightMatrix, float[])[layers];
                for (int j = 0; j < layers; j++)
                {
                    // Medusa repeats one ResBlock module n times, so a file may store it once under index 0.
                    int stored = t.Contains($"{k}.{j}.linear.weight") ? j : 0;
                    blocks[k][j] = j == stored || j == 0
                        ? (t.Matrix($"{k}.{stored}.linear.weight", hidden, hidden), t.Vector($"{k}.{stored}.linear.bias", hidden))
                        : blocks[k][0];
                }
                if (ownHead) lm[k] = t.Matrix($"{k}.{layers}.weight", vocab, hidden);
            }
            t.RejectUnused(tensors.Source, []);
            return new MedusaHeads(tensors, hidden, blocks, lm);
        }
        catch { tensors.Dispose(); throw; }
    }

    /// <summary>
    /// Head count, ResBlocks per head and whether heads have LM heads, from the tensor names {k}.{j}.linear.* and
    /// {k}.{n}.weight.
    /// </summary>
    private static (int Heads, int Layers, bool OwnHead) Layout(IEnumerable<string> names, string source, int? configLayers)
    {
        int heads = 0, maxBlock = -1, headIndex = -1;
        foreach (var n in names)
        {
            var parts = n.Split('.');
            if (parts.Length < 3 || !int.TryParse(parts[0], out int k) || !int.TryParse(parts[1], out int j) || k < 0 || j < 0)
                throw new FrSpecException($"{source}: tensor '{n}' is not a Medusa head tensor ({{head}}.{{layer}}.linear.weight/bias or {{head}}.{{n}}.weight)");
            if (k >= MaxHeads) throw new FrSpecException($"{source}: tensor '{n}' names head {k}; at most {MaxHeads} heads are supported");
            heads = Math.Max(heads, k + 1);
            if (parts.Length == 4 && parts[2] == "linear") maxBlock = Math.Max(maxBlock, j);
            else if (parts.Length == 3 && parts[2] == "weight") headIndex = Math.Max(headIndex, j);
            else throw new FrSpecException($"{source}: tensor '{n}' is not a Medusa head tensor");
        }
        if (heads == 0) throw new FrSpecException($"{source}: no Medusa head tensors");
        // The LM head sits after the ResBlocks: its index is the layer count. Without one, the layer count is the blocks seen
        // (or the config's, for a file that stores a shared block once).
        int layers = headIndex >= 0 ? headIndex : Math.Max(maxBlock + 1, configLayers ?? 0);
        if (layers <= 0) throw new FrSpecException($"{source}: Medusa heads without ResBlocks ({{head}}.0.linear.weight)");
        if (maxBlock >= layers) throw new FrSpecException($"{source}: ResBlock {maxBlock} comes after the LM head index {layers}");
        return (heads, layers, headIndex >= 0);
    }

    /// <summary>
    /// Head k's hidden row: x = h, then x ← x + SiLU(W·x + b) for each ResBlock. <paramref name="scratch"/> holds H floats.
    /// </summary>
    internal void Transform(Compute compute, int k, ReadOnlySpan<float> h, Span<float> x, Span<float> scratch)
    {
        h.CopyTo(x);
        foreach (var (w, b) in Blocks[k])
        {
            MatMul.Multiply(compute, x, 1, w, scratch, b);
            var y = scratch[..HiddenSize];
            for (int i = 0; i < y.Length; i++) y[i] /= 1f + MathF.Exp(-y[i]); // SiLU
            System.Numerics.Tensors.TensorPrimitives.Add(x, y, x);
        }
    }

    public void Dispose() => _tensors.Dispose();
}
