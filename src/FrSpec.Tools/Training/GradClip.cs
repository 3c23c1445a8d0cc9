namespace FrSpec.Training;

/// <summary>Global-norm gradient clipping: if ‖g‖₂ over all parameters exceeds max, scale every gradient by max/‖g‖.</summary>
public static class GradClip
{
    /// <summary>Returns the norm before clipping. Summed in a fixed order (deterministic).</summary>
    public static double Clip(IEnumerable<Parameter> parameters, double maxNorm)
    {
        var list = parameters.ToList();
        double ss = 0;
        foreach (var p in list) ss += System.Numerics.Tensors.TensorPrimitives.Dot(p.Grad, p.Grad);
        double norm = Math.Sqrt(ss);
        if (maxNorm > 0 && norm > maxNorm)
        {
            float s = (float)(maxNorm / norm);
            foreach (var p in list) System.Numerics.Tensors.TensorPrimitives.Multiply(p.Grad, s, p.Grad);
        }
        return norm;
    }
}
