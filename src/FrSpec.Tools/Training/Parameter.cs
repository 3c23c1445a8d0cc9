namespace FrSpec.Training;

/// <summary>A trainable tensor: f32 values, their gradient, and the HF tensor name and shape it is saved under.</summary>
public sealed class Parameter
{
    public string Name { get; }
    public long[] Shape { get; }
    public float[] Value { get; }
    public float[] Grad { get; }
    /// <summary>Whether AdamW applies weight decay (matrices yes; norms and biases no).</summary>
    public bool Decay { get; }

    public Parameter(string name, long[] shape, bool decay)
    {
        Name = name; Shape = shape; Decay = decay;
        long n = shape.Aggregate(1L, (a, b) => a * b);
        Value = new float[n];
        Grad = new float[n];
    }

    /// <summary>A zero parameter of this layout.</summary>
    public Parameter(ParameterLayout layout) : this(layout.Name, layout.Shape, layout.Decay) { }

    public int Length => Value.Length;

    /// <summary>Fills with N(0, std²) from a seeded generator (deterministic per name and seed).</summary>
    public Parameter InitNormal(ulong seed, float std)
    {
        var v = Synthesis.RandomWeights.Normal(seed, Name, Value.Length, 0f, std);
        v.CopyTo(Value, 0);
        return this;
    }

    public Parameter InitConstant(float c)
    {
        Array.Fill(Value, c);
        return this;
    }

    public void ZeroGrad() => Array.Clear(Grad);
}
