import { ValueTransformer } from 'typeorm';

/**
 * pg hands bigint columns over as strings, since they can exceed 2^53; byte counts never come
 * near that, and the domain counts in numbers.
 */
export const bigintAsNumber: ValueTransformer = {
  to: (value: number | null | undefined) => value,
  from: (value: string | number | null | undefined) => (value === null || value === undefined ? null : Number(value)),
};
