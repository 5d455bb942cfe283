load helpers

@test "cxr-model --help, --version, unknown option" {
    run cxr-model --help
    [ "$status" -eq 0 ]
    [[ "$output" =~ Usage:\ cxr-model ]]
    run cxr-model --version
    [ "$status" -eq 0 ]
    [[ "$output" =~ ^cxr-model\ \(cxr-mtl\)\ [0-9] ]]
    run cxr-model --bogus
    assert_fails 64 "unknown option '--bogus'"
}

@test "cxr-model --list-backbones lists the paper's 18 with their published sizes" {
    run cxr-model --list-backbones
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 19 ]
    [[ "$output" =~ resnet50\ +torchvision\ +2048\ +25557032 ]]
    [[ "$output" =~ efficientnet_b1_pruned\ +timm\ +1280\ +6331916 ]]
    [[ "$output" =~ densenet121\ +torchvision\ +1024\ +7978856 ]]
}

@test "cxr-model names an unknown backbone and lists the known ones" {
    run cxr-model -b resnet19
    assert_fails 64 'unknown backbone "resnet19" \(known: densenet121,.*wide_resnet50_2'
    run cxr-model
    assert_fails 64 "give one of --backbone NAME or --unet PRESET"
    run cxr-model -b resnet18 --input 3x16x16
    assert_fails 64 "at least 32x32"
}

@test "cxr-model --keys gives torchvision's names; the plan shrinks for inference" {
    run cxr-model -b resnet18 --classes 1000 --keys --input 3x64x64
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "conv1.weight [64, 3, 7, 7]" ]
    [[ "$output" =~ layer4.1.bn2.running_var\ \[512\] ]]
    [ "${lines[-1]}" = "fc.bias [1000]" ]
    train=$(cxr-model -b resnet18 --train --batch 4 --input 3x64x64 --plan | awk '/activations \(planned\)/ {print $3}')
    infer=$(cxr-model -b resnet18 --batch 4 --input 3x64x64 --plan | awk '/activations \(planned\)/ {print $3}')
    awk -v t="$train" -v i="$infer" 'BEGIN { exit !(i < t / 2) }'
}

@test "cxr-model weights: saved files load back; a wrong head is named; --skip and --sum-rgb fit them" {
    cxr-model -b resnet18 --input 3x64x64 --save w.safetensors --seed 3
    no_partial_files .
    run cxr-model -b resnet18 --input 3x64x64 -w w.safetensors
    [ "$status" -eq 0 ]
    [[ "$output" =~ weights\ from\ w.safetensors ]]
    run cxr-model -b resnet18 --classes 10 --input 3x64x64 -w w.safetensors
    assert_fails 65 'missing key "fc.weight"'
    run cxr-model -b resnet18 --classes 10 --input 3x64x64 -w w.safetensors --skip fc.
    [ "$status" -eq 0 ]
    run cxr-model -b resnet18 --input 1x64x64 -w w.safetensors
    assert_fails 65 'key "conv1.weight" has shape \[64, 3, 7, 7\] in the file, \[64, 1, 7, 7\] in the model'
    run cxr-model -b resnet18 --input 1x64x64 -w w.safetensors --sum-rgb
    [ "$status" -eq 0 ]
    run cxr-model -b resnet18 -w missing.safetensors
    [ "$status" -eq 66 ]
    run cxr-model -b resnet18 --input 3x64x64 --save no/such/dir/w.safetensors
    [ "$status" -eq 73 ]
}

@test "cxr-model --unet lung-unet-4l has 5,468,897 parameters" {
    run cxr-model --unet lung-unet-4l
    [ "$status" -eq 0 ]
    [[ "$output" =~ 5468897\ parameters ]]
    run cxr-model --unet nosuch
    [ "$status" -eq 64 ]
}
