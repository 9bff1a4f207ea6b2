using Npgsql;
using NpgsqlTypes;

namespace Sovereign.Data;

/// <summary>
/// Typed parameters for values that may be null: PostgreSQL cannot infer a type from a bare <see cref="DBNull"/>
/// in every position (e.g. <c>COALESCE(@p, …)</c>), so nullable parameters always carry their type. Stateless.
/// </summary>
public static class PostgresValues
{
    public static NpgsqlParameter Text(string name, string? value) => new(name, NpgsqlDbType.Text) { Value = (object?)value ?? DBNull.Value };

    public static NpgsqlParameter Int64(string name, long? value) => new(name, NpgsqlDbType.Bigint) { Value = (object?)value ?? DBNull.Value };

    public static NpgsqlParameter Int32(string name, int? value) => new(name, NpgsqlDbType.Integer) { Value = (object?)value ?? DBNull.Value };

    public static NpgsqlParameter Double(string name, double? value) => new(name, NpgsqlDbType.Double) { Value = (object?)value ?? DBNull.Value };

    public static NpgsqlParameter Bytes(string name, byte[]? value) => new(name, NpgsqlDbType.Bytea) { Value = (object?)value ?? DBNull.Value };
}
