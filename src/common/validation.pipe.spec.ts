import { IsInt, IsOptional, IsString, MaxLength, Min } from 'class-validator';
import { AppException } from './app.exception';
import { createValidationPipe } from './validation.pipe';

class BaseDto {
  @IsString()
  @MaxLength(5)
  name!: string;
}

class ChildDto extends BaseDto {
  @IsOptional()
  @IsInt()
  count?: number;
}

class LateDto {
  @IsOptional()
  @IsString()
  label?: string;

  size?: number;
}

/** The details of the error a body gets, or 'ok'. */
async function outcome(metatype: new () => object, body: unknown): Promise<unknown> {
  try {
    await createValidationPipe().transform(body, { type: 'body', metatype });
    return 'ok';
  } catch (err) {
    if (!(err instanceof AppException)) throw err;
    return err.extra.details;
  }
}

describe('createValidationPipe with the rules remembered per class', () => {
  it('applies own and inherited rules, the same on every call', async () => {
    for (let i = 0; i < 3; i++) {
      expect(await outcome(ChildDto, { name: 'abc', count: 2 })).toBe('ok');
      expect(await outcome(ChildDto, { name: 'abcdef', count: 'x' })).toEqual([
        { field: 'count', message: 'count must be an integer number' },
        { field: 'name', message: 'name must be shorter than or equal to 5 characters' },
      ]);
      expect(await outcome(BaseDto, { name: 'abc', count: 2 })).toEqual([{ field: 'count', message: 'is not a known field' }]);
    }
  });

  it('sees a rule registered after the class was first validated', async () => {
    expect(await outcome(LateDto, { size: -1 })).toEqual([{ field: 'size', message: 'is not a known field' }]);
    Min(0)(LateDto.prototype, 'size');
    expect(await outcome(LateDto, { size: -1 })).toEqual([{ field: 'size', message: 'size must not be less than 0' }]);
    expect(await outcome(LateDto, { size: 3 })).toBe('ok');
  });
});
