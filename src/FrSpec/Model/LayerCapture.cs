namespace FrSpec.Model;

/// <summary>
/// Asks a <see cref="Transformer"/> pass to keep the residual stream at the input of some layers (the pre-norm
/// hidden state each listed layer receives), concatenated per token in list order: EAGLE-3 reads three of them
/// (docs/formats.md, "EAGLE-3 heads"). The copy is a few rows of H floats per listed layer, made only when a
/// <see cref="ForwardState"/> carries a capture, so ordinary passes pay nothing.
/// </summary>
public sealed class LayerCapture
{
    private readonly int[] _slotOfLayer;
    private float[] _rows = [];

    /// <summary>The layers whose inputs are kept, in output order (distinct, each below the model's layer count).</summary>
    public IReadOnlyList<int> Layers { get; }

    /// <summary>Floats per token: layers × hidden size.</summary>
    public int Width { get; }

    /// <summary>A capture of <paramref name="layers"/> (distinct, in [0, layerCount)) for a model of hidden size <paramref name="hidden"/>.</summary>
    public LayerCapture(IReadOnlyList<int> layers, int layerCount, int hidden)
    {
        if (layers.Count == 0) throw new ArgumentException("no layers to capture");
        _slotOfLayer = new int[layerCount];
        Array.Fill(_slotOfLayer, -1);
        for (int i = 0; i < layers.Count; i++)
        {
            int l = layers[i];
            if ((uint)l >= (uint)layerCount) throw new FrSpecException($"layer {l} to capture is outside the model's {layerCount} layers");
            if (_slotOfLayer[l] >= 0) throw new FrSpecException($"layer {l} is listed twice for capture");
            _slotOfLayer[l] = i;
        }
        Layers = layers.ToArray();
        Hidden = hidden;
        Width = layers.Count * hidden;
    }

    internal int Hidden { get; }

    /// <summary>The captured rows of the last pass: [tokens, <see cref="Width"/>], valid until the next pass.</summary>
    public ReadOnlySpan<float> Rows(int tokens) => _rows.AsSpan(0, tokens * Width);

    internal void Begin(int tokens)
    {
        if (_rows.Length < tokens * Width) _rows = new float[Math.Max(tokens * Width, _rows.Length * 2)];
    }

    /// <summary>Called before layer <paramref name="layer"/> runs: keeps its input rows when the layer is listed.</summary>
    internal void Take(int layer, ReadOnlySpan<float> x, int tokens)
    {
        int slot = _slotOfLayer[layer];
        if (slot < 0) return;
        int h = Hidden;
        for (int t = 0; t < tokens; t++) x.Slice(t * h, h).CopyTo(_rows.AsSpan(t * Width + slot * h, h));
    }
}
