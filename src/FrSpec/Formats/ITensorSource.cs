using FrSpec.Numerics;

namespace FrSpec.Formats;

/// <summary>Named weights with shape-checked access: a model's safetensors, or an EAGLE head's .bin/.safetensors.</summary>
public interface ITensorSource
{
    /// <summary>Every tensor name the source holds.</summary>
    IEnumerable<string> Names { get; }
    bool Contains(string name);
    /// <summary>A [rows, cols] matrix; errors name the file and tensor on a wrong shape or dtype.</summary>
    WeightMatrix Matrix(string name, int rows, int cols);
    /// <summary>A 1-D tensor as f32.</summary>
    float[] Vector(string name, int length);
}
